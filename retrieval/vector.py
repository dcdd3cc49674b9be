"""The vector index: faiss inner-product search over several vectors per document (for a guide:
the item itself and each of its sections), results pooled to the best vector per document.

An exact flat index: at our scale (tens of thousands of vectors) it answers in about a
millisecond, needs no training, and supports removing and re-adding one document's vectors.
"""

from __future__ import annotations

import threading

import faiss
import numpy as np


class VectorIndex:
    def __init__(self, dim: int) -> None:
        # one query at a time, a few thousand vectors: a single thread answers in about a millisecond.
        # faiss's OpenMP threads would spin after every search and take the cores from the
        # embedder (itself OpenMP) and the other requests: p50 several times worse on two cores.
        faiss.omp_set_num_threads(1)
        self.dim = dim
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._next_id = 0
        self._owner: dict[int, tuple[str, str]] = {}  # faiss id → (doc id, label of the vector)
        self._ids_of: dict[str, list[int]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._ids_of)

    def __contains__(self, doc_id: str) -> bool:
        return doc_id in self._ids_of

    @property
    def vector_count(self) -> int:
        return int(self._index.ntotal)

    def upsert(self, doc_id: str, vectors: np.ndarray, labels: list[str]) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        with self._lock:
            self._remove_locked(doc_id)
            ids = np.arange(self._next_id, self._next_id + len(vectors), dtype=np.int64)
            self._next_id += len(vectors)
            if len(vectors):
                self._index.add_with_ids(vectors, ids)
            for faiss_id, label in zip(ids.tolist(), labels, strict=True):
                self._owner[faiss_id] = (doc_id, label)
            self._ids_of[doc_id] = ids.tolist()

    def remove(self, doc_id: str) -> None:
        with self._lock:
            self._remove_locked(doc_id)

    def _remove_locked(self, doc_id: str) -> None:
        ids = self._ids_of.pop(doc_id, None)
        if ids:
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))  # type: ignore[arg-type]  # the stub lacks the array form
            for faiss_id in ids:
                del self._owner[faiss_id]

    def search(self, query: np.ndarray, top_k: int, allowed: set[str] | None = None) -> list[tuple[str, float, str]]:
        """Best (doc id, cosine, label of the best vector), one row per document."""
        with self._lock:
            total = int(self._index.ntotal)
            if not total:
                return []
            # a filter can exclude most of the top hits, so then look at every vector (it is exact anyway)
            k = total if allowed is not None else min(total, top_k * 8)
            scores, ids = self._index.search(np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1), k)
            owners = [self._owner.get(int(i)) for i in ids[0]]
        best: dict[str, tuple[float, str]] = {}
        for score, owner in zip(scores[0].tolist(), owners, strict=True):
            if owner is None:
                continue
            doc_id, label = owner
            if (allowed is not None and doc_id not in allowed) or doc_id in best:
                continue
            best[doc_id] = (score, label)
            if len(best) >= top_k:
                break
        return [(doc_id, score, label) for doc_id, (score, label) in best.items()]
