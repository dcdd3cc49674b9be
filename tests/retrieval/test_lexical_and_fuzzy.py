"""Tokenisation, BM25, pinyin transliteration and fuzzy name matching."""

from __future__ import annotations

import pytest

from retrieval.fuzzy import FuzzyNameIndex
from retrieval.lexical import BM25Index, Tokenizer, normalize_text
from retrieval.pinyin import PinyinVocabulary, split_pinyin, to_initials, to_pinyin


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    tokenizer = Tokenizer(extra_stopwords=["成都"])
    tokenizer.add_words(["住房公积金提取", "公积金", "不动产转移登记"])
    return tokenizer


def test_compound_names_stay_whole_and_their_parts_match_too(tokenizer):
    tokens = tokenizer.tokenize("成都住房公积金提取怎么办理？")
    assert "住房公积金提取" in tokens and "公积金" in tokens and "提取" in tokens
    assert "怎么" not in tokens and "成都" not in tokens and "？" not in tokens


def test_full_width_text_is_normalised():
    assert normalize_text("ＩＤ　Ｃａｒｄ  怎么办") == "id card 怎么办"


def test_bm25_ranks_by_weighted_fields_and_follows_edits(tokenizer):
    index = BM25Index(tokenizer, {"name": 3.0, "body": 1.0})
    index.upsert("a", {"name": "住房公积金提取", "body": "职工购房可以申请提取"})
    index.upsert("b", {"name": "不动产转移登记", "body": "用公积金贷款买房后办理转移登记"})
    assert [doc for doc, _ in index.search(tokenizer.tokenize("公积金"), 10)] == ["a", "b"]
    index.upsert("a", {"name": "住房补贴", "body": ""})
    assert [doc for doc, _ in index.search(tokenizer.tokenize("公积金"), 10)] == ["b"]
    index.remove("b")
    assert index.search(tokenizer.tokenize("公积金"), 10) == [] and len(index) == 1
    assert index.search(tokenizer.tokenize("住房"), 10, allowed={"b"}) == []


def test_pinyin_helpers():
    assert split_pinyin("jiashizheng") == ("jia", "shi", "zheng")
    assert split_pinyin("card") is None
    assert (to_pinyin("公积金"), to_initials("身份证")) == ("gongjijin", "sfz")


def test_pinyin_and_homophone_typos_become_our_words():
    vocabulary = PinyinVocabulary()
    vocabulary.build(["住房公积金", "公积金", "提取", "结婚", "登记", "护照", "身份证", "身份证", "驾驶证", "换证"])
    assert vocabulary.transliterate("gjj tiqu") == ("公积金 提取", [])
    assert vocabulary.transliterate("jiashizheng huanzheng") == ("驾驶证 换证", [])
    assert vocabulary.transliterate("sfz") == ("身份证", [])
    assert vocabulary.transliterate("结昏登记") == ("结昏登记", ["结婚"])
    assert vocabulary.transliterate("户照怎么办") == ("户照怎么办", ["护照"])
    assert vocabulary.transliterate("passport 怎么办") == ("passport 怎么办", [])


def test_fuzzy_names_by_characters_pinyin_and_initials():
    index = FuzzyNameIndex()
    index.upsert("fund", ["住房公积金提取", "取公积金"])
    index.upsert("id", ["居民身份证补领", "身份证丢了"])
    index.upsert("dog", ["养犬登记"])
    assert index.search("公积斤提取", 3)[0][0] == "fund"  # homophone typo
    assert index.search("gongjijin", 3)[0][0] == "fund"  # full pinyin
    assert index.search("sfz", 3)[0][0] == "id"  # initials
    assert index.search("身份症补办", 3)[0][0] == "id"
    assert index.search("今天天气不错", 3) == []
    index.remove("dog")
    assert index.search("养犬登记", 3) == [] or index.search("养犬登记", 3)[0][0] != "dog"
