"""Hashed character and word n-gram features, in numpy only (shared by training and run time).

Character n-grams (2..5) over the normalised text catch misspellings and coined words ("zio",
"ziocons"); word unigrams and bigrams catch phrases. Each n-gram is hashed into 2**BITS buckets
(FNV-1a, computed for all positions at once with numpy), counted, weighted by sublinear tf x idf
and L2-normalised, like scikit-learn's TfidfVectorizer(sublinear_tf=True) but with no vocabulary
to ship and no scikit-learn at run time.
"""

from __future__ import annotations

import itertools
import re
import zlib
from collections.abc import Sequence

import numpy as np

BITS = 18
N_FEATURES = 1 << BITS
CHAR_N = (2, 3, 4, 5)
_FNV_PRIME = np.uint64(1099511628211)
_FNV_OFFSET = np.uint64(14695981039346656037)
_MIX = np.uint64(0x9E3779B97F4A7C15)
_SHIFT = np.uint64(64 - BITS)
_WORD = re.compile(r"[a-z0-9']+|[^\sa-z0-9]")
_MAX_CHARS = 2000  # longer comments are scored on their first 2,000 characters


def _ngram_hashes(codes: np.ndarray, n: int) -> np.ndarray:
    """The feature id of the character n-gram starting at each position of `codes` (FNV-1a
    over the code points, then a multiplicative mix into BITS bits)."""
    m = len(codes) - n + 1
    h = np.full(m, _FNV_OFFSET ^ np.uint64(n), dtype=np.uint64)
    for k in range(n):
        h = (h ^ codes[k : k + m]) * _FNV_PRIME
    return ((h * _MIX) >> _SHIFT).astype(np.int64)


def _char_ids(text: str) -> np.ndarray:
    codes = np.frombuffer((" " + text + " ").encode("utf-32-le"), dtype=np.uint32)
    codes = codes.astype(np.uint64)
    out = [_ngram_hashes(codes, n) for n in CHAR_N if len(codes) >= n]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def _word_ids(text: str) -> np.ndarray:
    words = _WORD.findall(text)
    grams = [f"w1 {w}" for w in words]
    grams += [f"w2 {a} {b}" for a, b in itertools.pairwise(words)]
    ids = [zlib.crc32(g.encode()) & (N_FEATURES - 1) for g in grams]
    return np.asarray(ids, dtype=np.int64)


def ngram_ids(text: str) -> np.ndarray:
    """All hashed feature ids of one normalised text, with repeats (counts matter)."""
    text = text[:_MAX_CHARS]
    return np.concatenate([_char_ids(text), _word_ids(text)])


def tfidf_rows(texts: Sequence[str], idf: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per text: (unique feature ids, L2-normalised sublinear tf-idf values)."""
    rows = []
    for text in texts:
        ids, counts = np.unique(ngram_ids(text), return_counts=True)
        vals = (1.0 + np.log(counts)) * idf[ids]
        norm = float(np.sqrt(np.dot(vals, vals))) or 1.0
        rows.append((ids, (vals / norm).astype(np.float32)))
    return rows


def _char_ids_batch(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """`_char_ids` of many texts in one pass: (text index, feature id) per n-gram."""
    padded = [" " + t + " " for t in texts]
    lengths = np.fromiter((len(p) for p in padded), dtype=np.int64, count=len(padded))
    codes = np.frombuffer("".join(padded).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    doc = np.repeat(np.arange(len(padded), dtype=np.int64), lengths)
    end = np.cumsum(lengths)[doc]  # where each position's own text ends
    pos = np.arange(len(codes), dtype=np.int64)
    docs, ids = [], []
    for n in CHAR_N:
        m = len(codes) - n + 1
        if m <= 0:
            break
        inside = pos[:m] + n <= end[:m]  # n-grams do not cross into the next text
        docs.append(doc[:m][inside])
        ids.append(_ngram_hashes(codes, n)[inside])
    if not ids:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(docs), np.concatenate(ids)


def tfidf_batch(texts: Sequence[str], idf: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`tfidf_rows` of many texts at once, as flat arrays (text index, feature id, value),
    sorted by text then feature: the ids of `tfidf_rows` and its values up to float rounding,
    without a numpy loop per text."""
    cut = [t[:_MAX_CHARS] for t in texts]
    char_doc, char_ids = _char_ids_batch(cut)
    word_ids = [_word_ids(t) for t in cut]
    word_doc = np.repeat(np.arange(len(cut), dtype=np.int64), [len(w) for w in word_ids])
    word_flat = np.concatenate([np.zeros(0, dtype=np.int64), *word_ids])
    keys = np.concatenate([(char_doc << BITS) | char_ids, (word_doc << BITS) | word_flat])
    keys, counts = np.unique(keys, return_counts=True)
    doc, ids = keys >> BITS, keys & (N_FEATURES - 1)
    vals = (1.0 + np.log(counts)) * idf[ids]
    norm = np.sqrt(np.bincount(doc, weights=vals * vals, minlength=len(cut)))
    norm[norm == 0] = 1.0
    return doc, ids, (vals / norm[doc]).astype(np.float32)


def document_frequencies(texts: Sequence[str]) -> np.ndarray:
    df = np.zeros(N_FEATURES, dtype=np.int64)
    for text in texts:
        df[np.unique(ngram_ids(text))] += 1
    return df


def idf_from_df(df: np.ndarray, n_docs: int) -> np.ndarray:
    return (np.log((1.0 + n_docs) / (1.0 + df)) + 1.0).astype(np.float32)
