"""Answers serialised through their response models (``web.answers.answer``) are what the
hand-written ``to_json`` methods wrote before them, byte for byte: datetimes as ``isoformat()``
(``+00:00``, not pydantic's ``Z``), dates as ``YYYY-MM-DD``, scores rounded, fields in order."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sanic.response import json

from assistant.search.results import SearchHit, SearchResult
from console.policy_api import VersionModel
from miniapp_api.responses.forms import Draft as DraftAnswer
from miniapp_api.responses.search import SearchAnswer
from policy_graph.graph import NodeVersion
from smartform.drafts import Draft
from web.answers import answer


def same_bytes(got: dict[str, Any], expected: dict[str, Any]) -> None:
    assert got == expected
    assert list(got) == list(expected)  # the same order of keys
    assert json(got).body == json(expected).body  # and the same bytes from Sanic's encoder


def test_a_draft_is_answered_as_before() -> None:
    draft = Draft(id="9f1c0d2e", user_id="u_1", item_code="CD-0053", form_version=1,
                  data={"applicant_name": "王示例明", "members": [{"age": 3}]},
                  provenance={"applicant_name": {"from": "population", "locked": True, "value": "王示例明"}},
                  status="open", revision=2, updated_at=datetime(2026, 11, 22, 6, 0, 0, 123456, tzinfo=UTC),
                  expires_at=datetime(2026, 12, 22, 6, 0))  # naive, as SQLite may hand it back
    same_bytes(answer(DraftAnswer, draft), {
        "id": "9f1c0d2e", "item_code": "CD-0053", "form_version": 1,
        "data": {"applicant_name": "王示例明", "members": [{"age": 3}]},
        "provenance": {"applicant_name": {"from": "population", "locked": True, "value": "王示例明"}},
        "status": "open", "revision": 2, "updated_at": "2026-11-22T06:00:00.123456+00:00",
        "expires_at": "2026-12-22T06:00:00"})


def test_a_search_result_is_answered_as_before() -> None:
    hit = SearchHit(code="CD-0021", name="住房公积金提取", department="成都住房公积金管理中心", score=0.973456789,
                    matched_by=["lexical", "vector"], snippet="<em>公积金</em>提取",
                    scores={"lexical": 11.234567, "vector": 0.88})
    result = SearchResult(query="公积金怎么取", normalized="公积金怎么取", results=[hit],
                          facets={"department": {"成都住房公积金管理中心": 3}}, no_good_match=False,
                          confidence=0.9312345, took_ms=21.456789, methods=["lexical", "vector"],
                          expansions=["提取"])
    same_bytes(answer(SearchAnswer, result), {
        "query": "公积金怎么取", "results": [{
            "id": "CD-0021", "code": "CD-0021", "name": "住房公积金提取", "department": "成都住房公积金管理中心",
            "score": 0.9735, "matched_by": ["lexical", "vector"], "snippet": "<em>公积金</em>提取",
            "scores": {"lexical": 11.2346, "vector": 0.88}}],
        "facets": {"department": {"成都住房公积金管理中心": 3}}, "no_good_match": False, "confidence": 0.9312,
        "took_ms": 21.46, "methods": ["lexical", "vector"], "expansions": ["提取"], "truncated": False})
    assert result.confidence == 0.9312345  # the result itself keeps its full values


def test_a_node_version_is_answered_as_before() -> None:
    version = NodeVersion(
        node_id="item:cd-patent-grant", kind="item", version=2, state="draft", name="发明专利授权资助",
        data={"category": "奖补", "benefit": "每件发明专利资助3000元"}, edges=[{"kind": "handled_by", "dst": "department:x"}],
        condition={"all": [{"fact": "invention_patents", "op": ">=", "value": 1}]},
        valid_from=date(2026, 1, 1), valid_to=None, revision=2, author="li.editor", reviewer=None,
        review_comment=None, revision_authors=[{"revision": 1, "author": "li.editor"},
                                               {"revision": 2, "author": "zhou.editor"}])
    same_bytes(answer(VersionModel, version), {
        "id": "item:cd-patent-grant", "kind": "item", "version": 2, "state": "draft", "name": "发明专利授权资助",
        "data": {"category": "奖补", "benefit": "每件发明专利资助3000元"}, "edges": [{"kind": "handled_by", "dst": "department:x"}],
        "condition": {"all": [{"fact": "invention_patents", "op": ">=", "value": 1}]},
        "valid_from": "2026-01-01", "valid_to": None, "revision": 2, "author": "li.editor", "reviewer": None,
        "review_comment": None, "revision_authors": [{"revision": 1, "author": "li.editor"},
                                                     {"revision": 2, "author": "zhou.editor"}]})
    assert answer(VersionModel, version) == version.to_json()  # the audit log's copy (policy_graph) agrees


def test_the_models_still_read_the_answers_they_document() -> None:
    """The conformance tests read real answers back through the same models."""
    written = {"id": "d", "item_code": "CD-0053", "form_version": 1, "data": {}, "provenance": {}, "status": "open",
               "revision": 1, "updated_at": "2026-11-22T06:00:00+00:00", "expires_at": "2026-12-22T06:00:00+00:00"}
    assert DraftAnswer.model_validate(written).model_dump() == written
