"""Which language a comment is in, when the client does not say (Comentario never does).

Perspective detects the language itself and refuses attributes that do not support it. Our models
are English only, so we need to tell English from the languages a newsroom is likely to get. A
stop-word count is enough for that and costs microseconds: a comment is called another language
only when that language's function words clearly outnumber English ones; otherwise (short text,
names, emoji, numbers) it is English, which is what our models will score anyway. Perspective
answers "und" (undetermined) with an error in that case; we prefer to score (ADR 0011).
"""

from __future__ import annotations

import re

_STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(["the", "and", "is", "are", "was", "were", "to", "of", "in", "that", "it", "for", "on", "with", "this", "you", "not", "be", "have", "they", "he", "she", "we", "but", "what", "his", "her", "their", "at", "by", "from", "or", "an", "will", "would", "there", "been", "has", "had", "do", "does", "who", "which"]),
    "es": frozenset(["el", "la", "los", "las", "y", "es", "son", "que", "de", "del", "en", "un", "una", "por", "para", "con", "no", "se", "su", "sus", "al", "lo", "como", "pero", "más", "este", "esta", "está", "muy", "porque", "cuando"]),
    "fr": frozenset(["le", "la", "les", "et", "est", "sont", "que", "de", "des", "du", "en", "un", "une", "pour", "avec", "ne", "pas", "se", "sur", "au", "aux", "ce", "cette", "qui", "mais", "très", "il", "elle", "nous", "vous", "ils", "sont"]),
    "de": frozenset(["der", "die", "das", "und", "ist", "sind", "zu", "den", "dem", "des", "ein", "eine", "nicht", "mit", "von", "für", "auf", "sich", "auch", "es", "ich", "wir", "sie", "aber", "wie", "noch", "nur", "oder"]),
    "pt": frozenset(["o", "a", "os", "as", "e", "é", "são", "que", "de", "do", "da", "dos", "das", "em", "um", "uma", "por", "para", "com", "não", "se", "seu", "sua", "mas", "muito", "como", "ao", "isso", "está"]),
    "it": frozenset(["il", "lo", "la", "gli", "le", "e", "è", "sono", "che", "di", "del", "della", "in", "un", "una", "per", "con", "non", "si", "suo", "sua", "ma", "molto", "come", "questo", "questa", "anche"]),
    "nl": frozenset(["de", "het", "een", "en", "is", "zijn", "dat", "van", "in", "op", "te", "met", "niet", "voor", "ook", "maar", "als", "er", "wij", "zij", "ik", "je", "deze", "die"]),
}
_WORD = re.compile(r"[^\W\d_]+")
_LATIN = re.compile(r"[a-zA-ZÀ-ɏ]")


def detect(text: str) -> str:
    """The ISO 639-1 code of the comment's language ("en" unless clearly something else)."""
    letters = [c for c in text if c.isalpha()]
    if letters and sum(1 for c in letters if _LATIN.match(c)) < 0.5 * len(letters):
        return _script_language(letters)
    words = _WORD.findall(text.casefold())
    counts = {lang: sum(1 for w in words if w in stop) for lang, stop in _STOPWORDS.items()}
    best = max(counts, key=lambda lang: counts[lang])
    if best != "en" and counts[best] >= 3 and counts[best] >= 2 * counts["en"] + 1:
        return best
    return "en"


def _script_language(letters: list[str]) -> str:
    # Non-Latin scripts: name the script's main language; all of them are unsupported.
    first = letters[len(letters) // 2]
    ranges = (("\u0400", "\u04ff", "ru"), ("\u0590", "\u05ff", "he"), ("\u0600", "\u06ff", "ar"),
              ("\u0370", "\u03ff", "el"), ("\u0900", "\u097f", "hi"), ("\u3040", "\u30ff", "ja"),
              ("\u4e00", "\u9fff", "zh"), ("\uac00", "\ud7af", "ko"))
    for lo, hi, lang in ranges:
        if lo <= first <= hi:
            return lang
    return "und"


def normalise_code(code: str) -> str:
    """"EN", "en-US", "en_GB" -> "en" (Perspective accepts ISO and BCP-47 codes)."""
    return code.strip().replace("_", "-").split("-")[0].casefold()
