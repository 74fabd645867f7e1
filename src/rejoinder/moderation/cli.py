"""`rejoinder moderate ...`: classify JSON lines from stdin, and evaluate against labels.

    rejoinder moderate classify [--site SITE] [--backend default] < comments.jsonl > verdicts.jsonl
    rejoinder moderate eval --labels labelled.jsonl [--json]

classify streams: it reads, scores and writes in batches (bounded memory for any input size), one
output line per input line, in order, each with the input's "id" as given (null when absent) and
its "line" number. A line that is not a JSON object with a string "text" is written with action
"hold", "error": "invalid_input" and the reason (and a message on stderr); a batch whose scoring
fails is written with action "hold" and the error as reason (fail closed, ADR 0004). Blank lines
are not inputs and are passed over.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import orjson
import typer

from rejoinder.domain.moderation import ModerationPolicy, fail_closed
from rejoinder.moderation.rules import SiteRules, apply_site_rules
from rejoinder.services.ports import Classifier

app = typer.Typer(help="Moderation: classify comments and evaluate the models.",
                  no_args_is_help=True, add_completion=False)


def _backend_name(name: str | None) -> str:
    return name or os.environ.get("REJOINDER_MODERATION_BACKEND", "default")


def _load(name: str) -> Classifier:
    from rejoinder.moderation.registry import load_classifier

    return load_classifier(name)


class _Line:
    """One input line: its number, the id as given (any JSON value, None when absent) and
    either the text to score or why the line cannot be scored."""

    __slots__ = ("error", "id", "n", "text")

    def __init__(self, n: int, cid: object, text: str | None, error: str | None) -> None:
        self.n, self.id, self.text, self.error = n, cid, text, error


def _batches(stream: IO[str], size: int, err: IO[str]) -> Iterator[list[_Line]]:
    batch: list[_Line] = []
    for n, line in enumerate(stream, 1):
        if not line.strip():
            continue  # a blank line is not an input
        obj: object = None
        try:
            obj = orjson.loads(line)
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                raise ValueError('expected an object with a string "text"')
            batch.append(_Line(n, obj.get("id"), obj["text"], None))
        except (orjson.JSONDecodeError, ValueError) as exc:
            err.write(f"rejoinder moderate classify: line {n} not scored (held): {exc}\n")
            cid = obj.get("id") if isinstance(obj, dict) else None
            batch.append(_Line(n, cid, None, str(exc)))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def classify_stream(classifier: Classifier, policy: ModerationPolicy, stream: IO[str],
                    out: IO[bytes], err: IO[str], batch_size: int = 256,
                    progress: object | None = None,
                    rules: SiteRules | None = None) -> tuple[int, int]:
    """Score JSON lines from `stream` into `out`, one output line per input line, in order.
    Returns (written, held unscored). A line that cannot be read, or a batch whose scoring
    fails, is written with action "hold" and the reason (fail closed, ADR 0004)."""
    written = failed = 0
    for batch in _batches(stream, batch_size, err):
        good = [item for item in batch if item.text is not None]
        verdicts: dict[int, dict[str, object]] = {}
        try:
            scores = classifier.score([item.text for item in good if item.text is not None])
            if len(scores) != len(good):
                raise RuntimeError(f"classifier returned {len(scores)} scores for {len(good)}")
            for item, sc in zip(good, scores, strict=True):
                if rules is not None:  # the site's block list, as at posting time
                    sc = apply_site_rules(sc, item.text or "", rules)
                d = policy.decide(sc)
                verdicts[item.n] = {"action": d.action.value, "scores": sc.as_dict(),
                                    "reasons": list(d.reasons)}
        except Exception as exc:
            held = fail_closed(f"{type(exc).__name__}: {exc}")
            err.write(f"rejoinder moderate classify: scoring failed for {len(good)} "
                      f"comments, held: {exc}\n")
            verdicts = {item.n: {"action": held.action.value, "scores": {},
                                 "reasons": list(held.reasons)} for item in good}
            failed += len(good)
        rows = []
        for item in batch:
            verdict = verdicts.get(item.n)
            if verdict is None:  # unreadable line: held, never silently dropped
                held = fail_closed(f"invalid input: {item.error}")
                verdict = {"action": held.action.value, "scores": {},
                           "reasons": list(held.reasons), "error": "invalid_input"}
                failed += 1
            rows.append({"id": item.id, **verdict, "line": item.n})
        out.write(b"".join(orjson.dumps(r) + b"\n" for r in rows))
        out.flush()
        written += len(rows)
        if progress is not None:
            progress.advance(len(rows))  # type: ignore[attr-defined]
    return written, failed


class _Progress:
    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import MofNCompleteColumn, Progress, SpinnerColumn, TimeElapsedColumn

        self._p = Progress(SpinnerColumn(), "[progress.description]{task.description}",
                           MofNCompleteColumn(), TimeElapsedColumn(),
                           console=Console(stderr=True), transient=False)
        self._task = self._p.add_task("classifying", total=None)

    def __enter__(self) -> _Progress:
        self._p.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._p.stop()

    def advance(self, n: int) -> None:
        self._p.advance(self._task, n)


@app.command()
def classify(
    site: str = typer.Option(None, "--site", help="Site whose thresholds and block list apply "
                             "(read from the database in REJOINDER_DATABASE_URL); default "
                             "policy without it."),
    backend: str = typer.Option(None, "--backend", help="Classifier backend (default: "
                                "$REJOINDER_MODERATION_BACKEND or 'default')."),
    batch_size: int = typer.Option(256, "--batch-size", min=1, max=10_000),
) -> None:
    """Read {"id","text"} JSON lines on stdin; write one verdict JSON line per comment."""
    policy, rules = _site_policy(site) if site else (ModerationPolicy(), None)
    classifier = _load(_backend_name(backend))
    out = sys.stdout.buffer
    if sys.stderr.isatty():
        with _Progress() as progress:
            classify_stream(classifier, policy, sys.stdin, out, sys.stderr, batch_size, progress,
                            rules)
    else:
        classify_stream(classifier, policy, sys.stdin, out, sys.stderr, batch_size, None, rules)


def _site_policy(slug: str) -> tuple[ModerationPolicy, SiteRules]:
    """The site's policy and rules, exactly as the server applies them to posted comments."""
    from rejoinder.config import load_settings
    from rejoinder.services.moderation import site_rules
    from rejoinder.storage.engine import Database
    from rejoinder.storage.uow import SqlUnitOfWork

    settings = load_settings()
    db = Database(settings.resolved_database_url, pool_size=1)
    try:
        with SqlUnitOfWork(db).read() as store:
            found = store.site_by_slug(slug)
    finally:
        db.dispose()
    if found is None:
        sys.stderr.write(f"rejoinder moderate classify: no site {slug!r}\n")
        raise typer.Exit(1)
    return found.settings.policy(), site_rules(found)


@app.command("eval")
def eval_command(
    labels: Path = typer.Option(..., "--labels", exists=True, dir_okay=False,  # noqa: B008
                                help="JSONL with id, text, labels and/or expected, group."),
    backend: str = typer.Option(None, "--backend"),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
) -> None:
    """Precision/recall/F1 per label, action confusion matrix, false holds per group."""
    from rejoinder.moderation.evaluate import evaluate, read_rows, render

    with open(labels, encoding="utf-8") as fh:
        try:
            rows = list(read_rows(fh))
        except (json.JSONDecodeError, ValueError) as exc:
            typer.echo(f"bad labels file {labels}: {exc}", err=True)
            raise typer.Exit(2) from exc
    report = evaluate(_load(_backend_name(backend)), rows)
    typer.echo(json.dumps(report.as_dict(), indent=1) if as_json else render(report))


def main() -> None:  # pragma: no cover - `python -m rejoinder.moderation.cli`
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
