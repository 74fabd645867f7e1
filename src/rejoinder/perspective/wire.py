"""Perspective's wire format: parse `comments:analyze` / `comments:suggestscore`, build answers.

Pure: no I/O. Errors are `PerspectiveError`, which the web layer writes in Google's shape,
`{"error": {"code": 400, "message": "...", "status": "INVALID_ARGUMENT"}}`. Field names and the
error texts follow the public v1alpha1 reference and errors seen from the real service
(e.g. "Attribute INSULT does not support request languages: und", atom/biohazard-alert#20).
Unknown top-level fields are ignored rather than refused (Google refuses them): a client that
sends a field we do not know should keep working.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rejoinder.perspective.attributes import SUPPORTED_LANGUAGES, Attribute, AttributeScores
from rejoinder.perspective.language import detect, normalise_code

MAX_TEXT_BYTES = 20480  # Perspective's documented limit for comment.text
_TAGS = re.compile(r"<[^>]*>")
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|\n+|$)")
_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")


class PerspectiveError(Exception):
    """A client error, answered with Google's error shape and status."""

    STATUSES: ClassVar[dict[int, str]] = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 429: "RESOURCE_EXHAUSTED",
                503: "UNAVAILABLE"}

    def __init__(self, code: int, message: str, *, reason: str = "",
                 retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message,
                                 "status": self.STATUSES.get(self.code, "UNKNOWN")}
        if self.reason:
            error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                 "reason": self.reason, "domain": "googleapis.com"}]
        return {"error": error}


def invalid(message: str) -> PerspectiveError:
    return PerspectiveError(400, message)


@dataclass(frozen=True, slots=True)
class Requested:
    attribute: Attribute
    threshold: float | None = None  # scores below it are left out of the answer


@dataclass(frozen=True, slots=True)
class AnalyzeRequest:
    text: str
    attributes: tuple[Requested, ...]
    languages: tuple[str, ...]  # as requested, normalised; empty = detect
    do_not_store: bool = False
    span_annotations: bool = False
    drop_unsupported: bool = False
    client_token: str | None = None


@dataclass(frozen=True, slots=True)
class SuggestRequest:
    text: str
    attributes: Mapping[str, float]
    languages: tuple[str, ...]
    community_id: str | None
    client_token: str | None
    do_not_store: bool = False
    toxic: int | None = field(default=None)


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(f"Invalid JSON payload received. '{where}' must be an object.")
    return value


def _opt_bool(body: Mapping[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise invalid(f"Invalid value at '{name}' ({type(value).__name__}), expected a boolean.")
    return value


def _opt_str(body: Mapping[str, Any], name: str, limit: int) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise invalid(f"Invalid value at '{name}': a string of at most {limit} characters.")
    return value


def _text(body: Mapping[str, Any]) -> str:
    comment = _obj(body.get("comment"), "comment")
    text = comment.get("text")
    if not isinstance(text, str) or not text.strip():
        raise invalid("Comment must be non-empty.")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
        raise invalid(f"Comment text too long: at most {MAX_TEXT_BYTES} bytes.")
    kind = comment.get("type", "PLAIN_TEXT")
    if kind not in ("PLAIN_TEXT", "HTML", "TEXT_TYPE_UNSPECIFIED"):
        raise invalid(f"Invalid value at 'comment.type' ({kind!r}).")
    return _TAGS.sub(" ", text) if kind == "HTML" else text


def _languages(body: Mapping[str, Any]) -> tuple[str, ...]:
    raw = body.get("languages")
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw) or len(raw) > 20:
        raise invalid("Invalid value at 'languages': a list of language codes.")
    return tuple(dict.fromkeys(normalise_code(x) for x in raw if x.strip()))


def parse_analyze(body: Any) -> AnalyzeRequest:
    """Validate an AnalyzeCommentRequest; anything wrong is a 400 that names the field."""
    body = _obj(body, "body")
    text = _text(body)
    requested = body.get("requestedAttributes")
    if not isinstance(requested, dict) or not requested:
        raise invalid("Empty requestedAttributes.")
    attributes: list[Requested] = []
    for name, params in requested.items():
        attribute = _attribute(name)
        params = _obj(params if params is not None else {}, f"requestedAttributes.{name}")
        score_type = params.get("scoreType", "PROBABILITY")
        if score_type not in ("PROBABILITY", "SCORE_TYPE_UNSPECIFIED"):
            raise invalid(f"Unsupported scoreType {score_type!r} for attribute {name}.")
        threshold = params.get("scoreThreshold")
        if threshold is not None and (isinstance(threshold, bool)
                                      or not isinstance(threshold, int | float)
                                      or not 0 <= threshold <= 1):
            raise invalid(f"Invalid scoreThreshold for attribute {name}: a number in [0, 1].")
        attributes.append(Requested(attribute, None if threshold is None else float(threshold)))
    return AnalyzeRequest(
        text=text, attributes=tuple(attributes), languages=_languages(body),
        do_not_store=_opt_bool(body, "doNotStore"),
        span_annotations=_opt_bool(body, "spanAnnotations"),
        drop_unsupported=_opt_bool(body, "dropUnsupportedAttributes"),
        client_token=_opt_str(body, "clientToken", 200),
    )


def _attribute(name: Any) -> Attribute:
    try:
        return Attribute(name)
    except ValueError:
        shown = name if isinstance(name, str) and len(name) <= 64 else "(invalid name)"
        raise invalid(f"Unknown attribute: {shown}. Supported: "
                      f"{', '.join(a.value for a in Attribute)}.") from None


def parse_suggest(body: Any) -> SuggestRequest:
    """Validate a SuggestCommentScoreRequest (what Coral sends when a moderator decides)."""
    body = _obj(body, "body")
    text = _text(body)
    raw = body.get("attributeScores")
    if not isinstance(raw, dict) or not raw:
        raise invalid("Empty attributeScores.")
    values: dict[str, float] = {}
    for name, score in raw.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise invalid("Invalid attribute name in attributeScores.")
        summary = _obj(_obj(score, f"attributeScores.{name}").get("summaryScore"),
                       f"attributeScores.{name}.summaryScore")
        value = summary.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise invalid(f"Invalid attributeScores.{name}.summaryScore.value: a number in [0, 1].")
        values[name] = float(value)
    return SuggestRequest(
        text=text, attributes=values, languages=_languages(body),
        community_id=_opt_str(body, "communityId", 500),
        client_token=_opt_str(body, "clientToken", 200),
        do_not_store=_opt_bool(body, "doNotStore"), toxic=verdict(values),
    )


def verdict(values: Mapping[str, float]) -> int | None:
    """1 when the feedback says "toxic/rejected", 0 when "fine/approved", None when unclear.

    Coral sends `{"APPROVED": 1}` or `{"DELETED": 1}`; other clients send TOXICITY 0 or 1.
    """
    if values.get("DELETED", 0) >= 0.5 or values.get("REJECTED", 0) >= 0.5:
        return 1
    if values.get("APPROVED", 0) >= 0.5:
        return 0
    if "TOXICITY" in values:
        return 1 if values["TOXICITY"] >= 0.5 else 0
    return None


def resolve_languages(req: AnalyzeRequest) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(languages the request is scored in, detected languages); 400 if any is unsupported."""
    detected = (detect(req.text),)
    languages = req.languages or detected
    unsupported = [lang for lang in languages if lang not in SUPPORTED_LANGUAGES]
    if unsupported and not req.drop_unsupported:
        first = req.attributes[0].attribute.value
        raise invalid(f"Attribute {first} does not support request languages: "
                      f"{','.join(unsupported)}")
    return languages, detected


def sentences(text: str) -> list[tuple[int, int]]:
    """(begin, end) character offsets of the sentences, for span annotations."""
    spans = []
    for m in _SENTENCE.finditer(text):
        part = m.group(0)
        if part.strip():
            begin = m.start() + len(part) - len(part.lstrip())
            spans.append((begin, m.start() + len(part.rstrip())))
    return spans or [(0, len(text))]


Scorer = Callable[[Sequence[str]], list[AttributeScores]]


def analyze(req: AnalyzeRequest, score: Scorer) -> dict[str, Any]:
    """Answer an AnalyzeCommentRequest (language errors raise before any scoring)."""
    languages, detected = resolve_languages(req)
    out: dict[str, Any] = {"attributeScores": {}, "languages": list(languages),
                           "detectedLanguages": list(detected)}
    if req.client_token is not None:
        out["clientToken"] = req.client_token
    if req.drop_unsupported and any(lang not in SUPPORTED_LANGUAGES for lang in languages):
        return out  # every attribute is English-only: all dropped
    spans = sentences(req.text) if req.span_annotations else []
    texts = [req.text] + ([req.text[b:e] for b, e in spans] if len(spans) > 1 else [])
    scored = score(texts)
    whole = scored[0]
    for r in req.attributes:
        value = whole.get(r.attribute)
        if r.threshold is not None and value < r.threshold:
            continue
        entry: dict[str, Any] = {"summaryScore": {"value": value, "type": "PROBABILITY"}}
        if req.span_annotations:
            parts = scored[1:] if len(spans) > 1 else [whole]
            entry["spanScores"] = [
                {"begin": b, "end": e, "score": {"value": s.get(r.attribute), "type": "PROBABILITY"}}
                for (b, e), s in zip(spans, parts, strict=True)
            ]
        out["attributeScores"][r.attribute.value] = entry
    return out


def suggest_answer(req: SuggestRequest) -> dict[str, Any]:
    out: dict[str, Any] = {"detectedLanguages": [detect(req.text)]}
    if req.languages:
        out["requestedLanguages"] = list(req.languages)
    if req.client_token is not None:
        out["clientToken"] = req.client_token
    return out
