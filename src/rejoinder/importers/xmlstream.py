"""Streaming XML: `iterparse` with element clearing, byte counts for progress, located errors.

Memory stays flat: callers handle an element when it ends, then detach it from its parent.
Expat reads the XML declaration, so ISO-8859-1 (or UTF-16) files decode correctly; entities and
CDATA sections arrive as plain text.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET  # expat does not expand external entities
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


def child_text(elem: ET.Element, name: str) -> str | None:
    """Text of the first direct child with this local name (None when absent)."""
    for child in elem:
        if local(child.tag) == name:
            return child.text
    return None


def child(elem: ET.Element, name: str) -> ET.Element | None:
    for c in elem:
        if local(c.tag) == name:
            return c
    return None


def attr(elem: ET.Element, name: str) -> str | None:
    """An attribute by local name (`dsq:id` is `{…disqus-internals}id`)."""
    for key, value in elem.attrib.items():
        if local(key) == name:
            return value
    return None


class XmlStream:
    """Events `(depth, elem)` at each element's end, with the parent stack available.

    `depth` 1 is a child of the root. The caller detaches what it handled (`detach`).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.total = path.stat().st_size
        self._reader: CountingReader | None = None
        self.stack: list[ET.Element] = []

    @property
    def position(self) -> int:
        return self._reader.count if self._reader else 0

    def ends(self, max_depth: int) -> Iterator[tuple[int, ET.Element]]:
        """`(depth, elem)` as each element at most `max_depth` deep ends."""
        with self.path.open("rb") as raw:
            self._reader = CountingReader(raw)
            buffered = io.BufferedReader(self._reader, buffer_size=1 << 20)
            stack = self.stack
            try:
                for event, elem in ET.iterparse(buffered, events=("start", "end")):  # noqa: S314
                    if event == "start":
                        stack.append(elem)
                        continue
                    stack.pop()
                    if len(stack) <= max_depth:
                        yield len(stack), elem
            except ET.ParseError as exc:
                line, column = exc.position
                raise ImportFailed(
                    f"{self.path.name}: not well-formed XML at line {line}, column {column + 1}: "
                    f"{_reason(exc)}"
                ) from exc

    def detach(self, elem: ET.Element) -> None:
        """Free a handled element: clear it and remove it from its parent."""
        elem.clear()
        if self.stack:
            parent = self.stack[-1]
            if len(parent) and parent[-1] is elem:
                del parent[-1]
            else:
                parent.remove(elem)


_LIBXML_PLACE = re.compile(r"(?:,? line \d+(?:, column \d+)?)+\s*$")


def _reason(exc: ET.ParseError) -> str:
    # "no element found: line 9, column 0" → "no element found" (the position is given above).
    return str(exc).split(":", 1)[0]


class TopLevel:
    """The root's children with given local names, one at a time, parsed by lxml (libxml2).

    For flat exports of millions of elements (Disqus): libxml2 builds each element in C and
    only the elements asked for reach Python (`iterparse(tag=…)`), instead of an event for
    every nested element as with ElementTree. Each handled element is cleared and detached,
    with any siblings skipped before it, so memory stays flat. Security as with expat: no
    network, no DTD loading, no external entities; libxml2's limits on entity expansion apply.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.total = path.stat().st_size
        self._reader: CountingReader | None = None

    @property
    def position(self) -> int:
        return self._reader.count if self._reader else 0

    def elements(self, names: tuple[str, ...]) -> Iterator[Any]:
        """lxml elements, each detached after the caller has handled it."""
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
                    parent = elem.getparent()
                    if parent is None or parent.getparent() is not None:
                        continue  # the root, or nested (a post's <thread dsq:id> reference)
                    yield elem
                    elem.clear()
                    while elem.getprevious() is not None:
                        del parent[0]
            except etree.XMLSyntaxError as exc:
                line, column = exc.position
                reason = _LIBXML_PLACE.sub("", str(exc.msg).strip())  # the place is given above
                raise ImportFailed(
                    f"{self.path.name}: not well-formed XML at line {line}, column {column}: "
                    f"{reason}"
                ) from exc
