"""Text normalisation that undoes common filter evasion before any rule or model sees the text.

Every component (lexicon, linear model, transformer) is trained and run on the output of
`normalise()`, so an evasion transform that normalisation undoes cannot change a verdict.

Handled: Unicode compatibility forms (fullwidth, mathematical alphanumerics), zero-width and other
invisible characters, combining accents, Latin look-alikes from Cyrillic and Greek, leetspeak inside
words, letters spaced or dotted apart ("k i k e", "k.i.k.e"), runs of three or more repeated
characters, and the antisemitic "(((echo)))" marker, which is rewritten to a visible token.
Pure functions, no state: safe from any thread.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

ECHO_TOKEN = "echomarker"  # noqa: S105 - a marker word, not a secret

# Invisible characters used to split words for filters but not for readers.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f]"
)

# Cyrillic, Greek and other look-alikes of Latin letters (lower case after casefold).
_CONFUSABLES = {
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
    "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i",
    "ј": "j", "һ": "h", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ɡ": "g", "ɩ": "i", "ʏ": "y",
    "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v",
    "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ζ": "z", "ϲ": "c",
    "ɑ": "a", "ı": "i", "ȷ": "j", "ℓ": "l", "∂": "d", "ß": "ss", "æ": "ae", "œ": "oe",
    "ø": "o", "đ": "d", "ł": "l", "ħ": "h", "þ": "p",
}
_CONFUSABLE_TABLE = str.maketrans(_CONFUSABLES)

# Leetspeak, applied only inside words that are mostly letters (not to "S400", "76th" or "2019").
_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
         "@": "a", "$": "s", "!": "i", "|": "l", "+": "t", "€": "e", "£": "l"}
_LEET_TABLE = str.maketrans(_LEET)
_LEET_CHARS = "".join(re.escape(c) for c in _LEET)
_TOKEN_WITH_LEET = re.compile(rf"(?<![\w@$])[\w{_LEET_CHARS}]*[a-z][\w{_LEET_CHARS}]*")
_MODEL_NUMBER = re.compile(
    r"^(?:[a-z]{1,4}-?\d{2,}[a-z]{0,2}|[a-z]{1,4}-?\d|\d+(?:st|nd|rd|th|s|k|m|am|pm|x|d)?)$"
)

# Single letters separated by spaces, dots, dashes, underscores or stars: "k i k e", "j.e.w".
_SPACED = re.compile(r"(?<![a-z0-9])(?:[a-z][ .\-_*·•]){2,}[a-z](?![a-z0-9])")
# URLs and e-mail addresses pass through untouched (only case-folded).
_URL = re.compile(r"(?:https?://|www\.)\S+|[\w.+-]+@[\w-]+\.[\w.]+", re.IGNORECASE)
_REPEATS = re.compile(r"(.)\1{2,}")
_ECHO = re.compile(r"\({3,}\s*([^()]{1,60}?)\s*\){3,}")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Normalised:
    text: str  # what models and rules see
    echoes: tuple[str, ...] = ()  # names found inside "(((...)))"


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFKC", kept)


def _deleet_token(m: re.Match[str]) -> str:
    whole = m.group(0)
    if whole.startswith("@"):  # an @mention, not "a"
        return whole
    tok = whole.rstrip("!|+$@")  # trailing "!" is punctuation, not an "i"
    tail = whole[len(tok) :]
    if not tok:
        return whole
    return _deleet_core(tok) + tail


def _deleet_core(tok: str) -> str:
    if not any(c in _LEET for c in tok) or _MODEL_NUMBER.match(tok):
        return tok
    letters = sum(c.isalpha() for c in tok)
    if letters < 2 and len(tok) > 3:
        return tok
    if letters / len(tok) < 0.4:
        return tok
    return tok.translate(_LEET_TABLE)


def _join_spaced(m: re.Match[str]) -> str:
    return "".join(c for c in m.group(0) if c.isalpha())


def _words(t: str) -> str:
    t = _REPEATS.sub(r"\1", t)
    t = _TOKEN_WITH_LEET.sub(_deleet_token, t)
    return _SPACED.sub(_join_spaced, t)


@lru_cache(maxsize=4096)
def normalise(text: str) -> Normalised:
    """Normalise one comment (see the module docstring). Cached: duplicates are common."""
    t = _INVISIBLE.sub("", text)
    t = _strip_marks(t)
    t = t.casefold().translate(_CONFUSABLE_TABLE)
    echoes = tuple(m.group(1).strip() for m in _ECHO.finditer(t))
    if echoes:
        t = _ECHO.sub(lambda m: f" {ECHO_TOKEN} {m.group(1).strip()} ", t)
    parts: list[str] = []
    last = 0
    for m in _URL.finditer(t):
        parts.append(_words(t[last : m.start()]))
        parts.append(m.group(0))
        last = m.end()
    parts.append(_words(t[last:]))
    t = _SPACES.sub(" ", "".join(parts)).strip()
    return Normalised(t, echoes)


def normalise_text(text: str) -> str:
    return normalise(text).text
