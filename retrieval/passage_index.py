"""Short texts in groups (a guide's passages, one group per item), each group searched on its own:
BM25 over jieba tokens and the cosine of e5 vectors, both per text.

A group is built the first time it is asked for, and again only when its texts change (its
fingerprint); its vectors come through the persistent embedding cache, so an unchanged passage is
never embedded twice — not across groups, restarts or workers. Thread-safe: groups are built and
scored from an executor.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from retrieval.lexical import BM25Index, Tokenizer


class PassageEmbedder(Protocol):
    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class _Group:
    fingerprint: str
    lexical: BM25Index
    vectors: np.ndarray | None  # one row per text, unit length; None without an embedder


def fingerprint(texts: Sequence[str]) -> str:
    return hashlib.sha256("\0".join(texts).encode()).hexdigest()


class PassageIndex:
    def __init__(self, tokenizer: Tokenizer, embedder: PassageEmbedder | None = None) -> None:
        self.tokenizer = tokenizer
        self.embedder = embedder
        self._groups: dict[str, _Group] = {}
        self._lock = threading.Lock()

    def ensure(self, group: str, texts: Sequence[str]) -> None:
        """Index ``texts`` as ``group`` unless that group already holds exactly these texts."""
        digest = fingerprint(texts)
        with self._lock:
            current = self._groups.get(group)
        if current is not None and current.fingerprint == digest:
            return
        lexical = BM25Index(self.tokenizer, {"text": 1.0})
        for number, text in enumerate(texts):
            lexical.upsert(str(number), {"text": text})
        vectors = self.embedder.embed_passages(list(texts)) if self.embedder is not None and texts else None
        with self._lock:
            self._groups[group] = _Group(digest, lexical, vectors)

    def score(self, group: str, tokens: list[str], query_vector: np.ndarray | None) -> list[tuple[float, float]]:
        """(BM25 as a share of the group's best, cosine) for each text of the group, in order; the
        cosine is 0.0 without vectors."""
        with self._lock:
            found = self._groups.get(group)
        if found is None:
            raise KeyError(group)
        count = len(found.lexical)
        lexical = dict(found.lexical.search(tokens, count)) if tokens else {}
        best = max(lexical.values(), default=0.0) or 1.0
        cosines = (found.vectors @ query_vector if found.vectors is not None and query_vector is not None
                   else np.zeros(count, dtype=np.float32))
        return [(lexical.get(str(n), 0.0) / best, float(cosines[n])) for n in range(count)]
