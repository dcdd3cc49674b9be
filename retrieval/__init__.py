"""Retrieval machinery that knows nothing about guides or policies: text → vectors (``Embedder``)
with a persistent embedding cache, the lexical index (jieba + BM25), the vector index (faiss),
fuzzy and pinyin name matching (rapidfuzz, pypinyin), and rank fusion."""
