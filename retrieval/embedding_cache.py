"""The persistent embedding cache: vectors keyed by (model id, hash of kind + text).

Embedding costs about a millisecond per token on two cores, so unchanged text is never embedded
twice, across restarts too. The cache is a local SQLite file (``RYB_DATA_DIR/embeddings.sqlite3``)
shared safely by all server processes on one machine (WAL mode).
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from retrieval.embedder import Embedder


class EmbeddingCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, digest TEXT NOT NULL, "
                "vector BLOB NOT NULL, PRIMARY KEY (model, digest)) WITHOUT ROWID")

    def get_many(self, model: str, digests: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(digests), 500):
                chunk = list(digests[start:start + 500])
                rows = self._conn.execute(
                    f"SELECT digest, vector FROM vectors WHERE model = ? AND digest IN ({','.join('?' * len(chunk))})",
                    [model, *chunk])
                found.update((digest, np.frombuffer(blob, dtype=np.float32)) for digest, blob in rows)
        return found

    def put_many(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.executemany(
                "INSERT OR REPLACE INTO vectors (model, digest, vector) VALUES (?, ?, ?)",
                [(model, digest, np.asarray(v, dtype=np.float32).tobytes()) for digest, v in vectors.items()])
            self._conn.execute("COMMIT")

    def count(self, model: str) -> int:
        with self._lock:
            return self._conn.execute("SELECT count(*) FROM vectors WHERE model = ?", [model]).fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def text_digest(kind: str, text: str) -> str:
    return hashlib.sha256(f"{kind}\0{text}".encode()).hexdigest()


class CachedEmbedder:
    """An ``Embedder`` that looks every text up in the cache first and embeds only the misses.

    Only passages (curated content) are persisted. Queries are what people typed: they are kept
    in a small in-memory LRU, because the same searches come back often, and never written down.
    ``embedded_texts`` counts what really went through the model (tests and benchmarks read it).
    """

    def __init__(self, embedder: Embedder, cache: EmbeddingCache, *, query_lru_size: int = 2048) -> None:
        self.embedder = embedder
        self.cache = cache
        self.model_id = embedder.model_id
        self.dim = embedder.dim
        self.embedded_texts = 0
        self._query_lru: OrderedDict[str, np.ndarray] = OrderedDict()
        self._query_lru_size = query_lru_size
        self._lock = threading.Lock()

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._persisted("passage", texts)

    def embed_examples(self, texts: Sequence[str]) -> np.ndarray:
        """Curated short texts (labelled examples, FAQ questions) compared with what people type:
        embedded like queries, so the comparison is symmetric, and persisted like passages."""
        return self._persisted("query", texts)

    def _persisted(self, kind: str, texts: Sequence[str]) -> np.ndarray:
        digests = [text_digest(kind, t) for t in texts]
        found = self.cache.get_many(self.model_id, digests)
        missing = {d: t for d, t in zip(digests, texts, strict=True) if d not in found}
        if missing:
            method = self.embedder.embed_passages if kind == "passage" else self.embedder.embed_queries
            vectors = method(list(missing.values()))
            fresh = dict(zip(missing, vectors, strict=True))
            self.cache.put_many(self.model_id, fresh)
            found.update(fresh)
            with self._lock:
                self.embedded_texts += len(missing)
        if not digests:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([found[d] for d in digests]).astype(np.float32, copy=False)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            cached = [self._query_lru.get(t) for t in texts]
            for text, vector in zip(texts, cached, strict=True):
                if vector is not None:
                    self._query_lru.move_to_end(text)
        missing = list(dict.fromkeys(t for t, v in zip(texts, cached, strict=True) if v is None))
        fresh: dict[str, np.ndarray] = {}
        if missing:
            fresh = dict(zip(missing, self.embedder.embed_queries(missing), strict=True))
            with self._lock:
                self.embedded_texts += len(missing)
                for text, vector in fresh.items():
                    self._query_lru[text] = vector
                while len(self._query_lru) > self._query_lru_size:
                    self._query_lru.popitem(last=False)
        vectors = [v if v is not None else fresh[t] for t, v in zip(texts, cached, strict=True)]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack(vectors).astype(np.float32, copy=False)
