"""Streaming XML with lxml: `iterparse` with element clearing, byte counts for progress, located
errors.

Memory stays flat: callers handle an element when it ends, then detach it from its parent.
libxml2 reads the XML declaration, so ISO-8859-1 (or UTF-16) files decode correctly; entities and
CDATA sections arrive as plain text.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from rejoinder.importers.records import ImportFailed


class CountingReader(io.RawIOBase):
    """A binary file that counts the bytes read through it (for the progress bar)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def namespace(tag: str) -> str:
    """`{http://disqus.com}post` → `{http://disqus.com}` (`` without a namespace)."""
    return tag[: tag.index("}") + 1] if tag.startswith("{") else ""


def local(tag: str) -> str:
    """`{http://wordpress.org/export/1.2/}comment` → `comment` (namespaces vary by version)."""
    return tag.rpartition("}")[2]


def child_text(elem: Any, name: str) -> str | None:
    """Text of the first direct child with this local name (None when absent)."""
    for child in elem:
        if local(child.tag) == name:
            text: str | None = child.text
            return text
    return None


_LIBXML_PLACE = re.compile(r"(?:,? line \d+(?:, column \d+)?)+\s*$")


class Ends:
    """Elements with given local names as each ends, parsed by lxml (libxml2), for nested
    exports (WordPress: `<wp:comment>` inside `<item>`).

    Only the elements asked for reach Python (`iterparse(tag=…)`), instead of an event for
    every nested element as with ElementTree; the caller handles each and detaches what it is
    done with (`detach`), so memory stays flat. Security as with expat: no network, no DTD
    loading, no external entities; libxml2's limits on entity expansion apply.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.total = path.stat().st_size
        self._reader: CountingReader | None = None

    @property
    def position(self) -> int:
        return self._reader.count if self._reader else 0

    def ends(self, names: tuple[str, ...]) -> Iterator[Any]:
        from lxml import etree

        with self.path.open("rb") as raw:
            self._reader = reader = CountingReader(raw)
            events = etree.iterparse(
                reader, events=("end",), tag=[f"{{*}}{n}" for n in names],
                resolve_entities="internal", no_network=True, load_dtd=False,
                remove_comments=True, remove_pis=True,
            )
            try:
                for _event, elem in events:
                    yield elem
            except etree.XMLSyntaxError as exc:
                raise _located(self.path, exc) from exc

    @staticmethod
    def depth(elem: Any) -> int:
        """1 for a child of the root."""
        depth = -1
        while elem is not None:
            elem = elem.getparent()
            depth += 1
        return depth

    @staticmethod
    def detach(elem: Any) -> None:
        """Free a handled element and the siblings before it (skipped metadata)."""
        elem.clear()
        parent = elem.getparent()
        if parent is not None:
            while elem.getprevious() is not None:
                del parent[0]
            parent.remove(elem)


class TopLevel(Ends):
    """The root's children with given local names, one at a time, for flat exports of millions
    of elements (Disqus). Each handled element is cleared and detached, with any siblings
    skipped before it, so memory stays flat.
    """

    def elements(self, names: tuple[str, ...]) -> Iterator[Any]:
        """lxml elements, each detached after the caller has handled it."""
        for elem in self.ends(names):
            parent = elem.getparent()
            if parent is None or parent.getparent() is not None:
                continue  # the root, or nested (a post's <thread dsq:id> reference)
            yield elem
            elem.clear()
            while elem.getprevious() is not None:
                del parent[0]


def _located(path: Path, exc: Any) -> ImportFailed:
    line, column = exc.position
    reason = _LIBXML_PLACE.sub("", str(exc.msg).strip())  # the place is given in front
    return ImportFailed(
        f"{path.name}: not well-formed XML at line {line}, column {column}: {reason}"
    )
