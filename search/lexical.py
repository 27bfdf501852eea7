"""The lexical side of hybrid search: text → sparse vector, the same way for products and queries.

Tokens are folded to ASCII (Vietnamese "giày" and "giay" meet, đ → d) and lowercased; word
bigrams are kept because Vietnamese compounds ("thể thao", "cao gót") carry meaning only as
pairs. Token ids are stable hashes, so no vocabulary has to be stored or shared between
processes; IDF is applied by Qdrant (the sparse vector uses the IDF modifier), so document
weights here are BM25's saturated term frequency only.
"""

from __future__ import annotations

import itertools
import re
import zlib
from collections import Counter

from catalog.vector_index import SparseVector
from ingest.normalise import fold_diacritics

_WORD = re.compile(r"[a-z0-9]+")
K1 = 1.2  # BM25 term-frequency saturation
B = 0.75  # BM25 length normalisation
AVG_DOC_TOKENS = 16.0  # typical listing title + attributes, in tokens (unigrams + bigrams)


def tokenize(text: str) -> list[str]:
    """Folded lowercase words, then adjacent word pairs joined by '_'."""
    words = _WORD.findall(fold_diacritics(text).lower())
    return words + [f"{a}_{b}" for a, b in itertools.pairwise(words)]


def token_id(token: str) -> int:
    return zlib.crc32(token.encode()) & 0x7FFFFFFF


def _to_sparse(weights: dict[int, float]) -> SparseVector:
    indices = sorted(weights)
    return SparseVector(indices=indices, values=[weights[i] for i in indices])


def document_vector(text: str) -> SparseVector:
    tokens = tokenize(text)
    counts = Counter(token_id(t) for t in tokens)
    norm = K1 * (1 - B + B * len(tokens) / AVG_DOC_TOKENS)
    return _to_sparse({i: tf * (K1 + 1) / (tf + norm) for i, tf in counts.items()})


def query_vector(text: str) -> SparseVector:
    return _to_sparse({token_id(t): 1.0 for t in tokenize(text)})
