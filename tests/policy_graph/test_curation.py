"""Curation of the graph on SQLite and PostgreSQL: drafts with stale-edit protection, review by
someone else, immutable published versions, condition trees refused with their paths, edges and
parameters, every change audited."""

from __future__ import annotations

from datetime import date

import pytest

from policy_graph.curation import CurationError, PolicyCuration, tree_to_rows
from policy_graph.engine import TRUE, UNKNOWN, evaluate
from policy_graph.graph import PolicyGraph, rows_to_tree
from tests.helpers import BASIC, CATALOGUE, HIGH_TECH, ITEM, seed
from web.errors import status_of


@pytest.fixture
def graph(db):  # type: ignore[no-untyped-def]
    return PolicyGraph(db, CATALOGUE)


@pytest.fixture
def curation(db, audit, graph):  # type: ignore[no-untyped-def]
    return PolicyCuration(db, audit, CATALOGUE, graph)


async def test_an_item_goes_from_draft_through_review_to_a_published_immutable_version(graph, curation, audit):
    await seed(curation)
    draft = await curation.save_draft("editor", "item:cd-hightech-first", "item", "首次认定高新技术企业奖励", data=ITEM,
                                   condition=HIGH_TECH, edges=[{"kind": "handled_by", "dst": "department:cd-kj"},
                                                               {"kind": "targets_qualification", "dst": "qualification:高新技术企业"}])
    assert (draft.version, draft.state, draft.revision) == (1, "draft", 1)
    edited = await curation.save_draft("editor", "item:cd-hightech-first", "item", "首次认定高新技术企业奖励",
                                    data={**ITEM, "benefit": "一次性奖励 30 万元"}, condition=HIGH_TECH, revision=1)
    assert edited.revision == 2 and edited.data["benefit"].endswith("30 万元")
    with pytest.raises(CurationError) as stale:  # someone else saved in between
        await curation.save_draft("editor2", "item:cd-hightech-first", "item", "x", data=ITEM, condition=HIGH_TECH, revision=1)
    assert stale.value.code == "stale_draft" and stale.value.details == {"current_revision": 2}
    with pytest.raises(CurationError) as early:
        await curation.publish("reviewer", "item:cd-hightech-first")
    assert early.value.code == "not_approved"

    await curation.submit("editor", "item:cd-hightech-first")
    with pytest.raises(CurationError) as own:
        await curation.review("editor", "item:cd-hightech-first", approve=True)
    assert status_of(own.value.code) == 403 and own.value.code == "own_change"
    sent_back = await curation.review("reviewer", "item:cd-hightech-first", approve=False, comment="请写明条款号")
    assert sent_back.state == "draft" and sent_back.review_comment == "请写明条款号"
    await curation.submit("editor", "item:cd-hightech-first")
    await curation.review("reviewer", "item:cd-hightech-first", approve=True)
    published = await curation.publish("reviewer", "item:cd-hightech-first")
    assert published.state == "published" and published.condition == HIGH_TECH

    # a later edit opens version 2; version 1 stays as it was, and stays the one in force
    second = await curation.save_draft("editor", "item:cd-hightech-first", "item", "首次认定高新技术企业奖励（2027）",
                                    data={**ITEM, "benefit": "一次性奖励 50 万元"}, condition=HIGH_TECH)
    assert second.version == 2 and (await graph.get("item:cd-hightech-first", published=True)).version == 1
    items = await graph.published_items(date(2026, 12, 1))
    version, tree = items["item:cd-hightech-first"]
    assert version.data["benefit"].endswith("30 万元")
    facts = {"registered_district": "510107", "independent_legal_person": True,
             "qualifications": frozenset({"首次认定高新技术企业"}), "revenue_last_year": 800.0}
    parameters = await graph.parameters()
    assert evaluate(tree, facts, CATALOGUE, parameters, date(2026, 12, 1)) == TRUE
    assert evaluate(tree, {**facts, "revenue_last_year": None}, CATALOGUE, parameters, date(2026, 12, 1)) == UNKNOWN

    history = await curation.history("item:cd-hightech-first")
    assert [h["state"] for h in history] == ["published", "draft"]
    actions = [e["action"] for e in reversed(await audit.entries(target_id="item:cd-hightech-first"))]
    assert actions == ["policy.draft.save", "policy.draft.save", "policy.in_review", "policy.draft", "policy.in_review",
                       "policy.approved", "policy.published", "policy.draft.save"]
    saved = (await audit.entries(target_id="item:cd-hightech-first"))[-2]
    assert saved["before"]["data"]["benefit"].endswith("20 万元") and saved["after"]["data"]["benefit"].endswith("30 万元")


async def test_bad_conditions_edges_and_items_are_refused_at_save_with_their_paths(graph, curation):
    await seed(curation)
    bad = {"all": [{"ref": "condition:chengdu.basic"},
                   {"fact": "established_on", "op": ">=", "value": 3},
                   {"fact": "employees", "op": ">=", "value": "2020-01-01"},
                   {"fact": "turnover", "op": ">", "value": 1}]}
    with pytest.raises(CurationError) as refused:
        await curation.save_draft("editor", "item:bad", "item", "坏的", data=ITEM, condition=bad)
    assert [p["path"] for p in refused.value.details] == ["all[1].op", "all[2].value", "all[3].fact"]
    with pytest.raises(CurationError) as edges:
        await curation.save_draft("editor", "item:bad", "item", "坏的", data=ITEM, condition=BASIC,
                               edges=[{"kind": "issued_by", "dst": "department:cd-kj"},
                                      {"kind": "handled_by", "dst": "department:nowhere"}])
    assert [p["path"] for p in edges.value.details] == ["edges[0].kind", "edges[1].dst"]
    with pytest.raises(CurationError) as incomplete:
        await curation.save_draft("editor", "item:bad", "item", "坏的", data={"category": "红包"})
    assert [p["path"] for p in incomplete.value.details] == ["data.category", "data.delivery", "data.benefit", "condition"]
    # a shared condition that refers to itself through another is a cycle
    await curation.save_draft("editor", "condition:a", "condition", "甲", condition={"all": [{"ref": "condition:chengdu.basic"}]})
    with pytest.raises(CurationError) as cycle:
        await curation.save_draft("editor", "condition:chengdu.basic", "condition", "乙",
                               condition={"any": [{"ref": "condition:a"}]})
    assert "cycle" in cycle.value.details[0]["message"]
    assert await graph.get("item:bad") is None  # nothing of the refused saves was written


def test_condition_rows_round_trip_and_looping_rows_are_refused():
    rows = tree_to_rows(HIGH_TECH)
    assert [r["kind"] for r in rows] == ["all", "ref", "atom", "atom"] and rows[2]["parent"] == 0

    class Row:
        def __init__(self, **kw):  # type: ignore[no-untyped-def]
            self.__dict__.update(kw)

    assert rows_to_tree([Row(**r) for r in rows]) == HIGH_TECH
    looping = [Row(**{**r, "parent": 3 if r["position"] == 0 else r["parent"]}) for r in rows]
    with pytest.raises(ValueError):
        rows_to_tree(looping)


async def test_no_one_who_saved_any_revision_may_review_or_publish_it(graph, curation, audit):
    """The attack: an admin writes a change, an editor re-saves it unchanged (so the editor is the
    last author), and the admin tries to approve and publish it as if it were someone else's."""
    await seed(curation)
    node_id = "item:cd-hightech-first"
    written = await curation.save_draft("admin", node_id, "item", "首次认定高新技术企业奖励", data=ITEM, condition=HIGH_TECH)
    resaved = await curation.save_draft("editor", node_id, "item", written.name, data=written.data,
                                     condition=written.condition, revision=written.revision)
    assert resaved.author == "editor" and resaved.authors == ["admin", "editor"]
    assert resaved.revision_authors == [{"revision": 1, "author": "admin"}, {"revision": 2, "author": "editor"}]
    await curation.submit("editor", node_id)
    for who in ("admin", "editor"):  # the earlier author as much as the last one
        with pytest.raises(CurationError) as own:
            await curation.review(who, node_id, approve=True)
        assert (status_of(own.value.code), own.value.code) == (403, "own_change") and "不能审核自己参与的修改" in str(own.value)
        assert own.value.details == {"authors": ["admin", "editor"]}
    assert (await graph.get(node_id)).state == "in_review"  # the refusals changed nothing

    approved = await curation.review("reviewer", node_id, approve=True)  # never saved it: may approve
    assert (approved.state, approved.reviewer) == ("approved", "reviewer")
    with pytest.raises(CurationError) as own_publish:
        await curation.publish("admin", node_id)
    assert (status_of(own_publish.value.code), own_publish.value.code) == (403, "own_change")
    assert "不能发布自己参与的修改" in str(own_publish.value)
    published = await curation.publish("reviewer", node_id)
    assert published.state == "published" and published.authors == ["admin", "editor"]
    assert [h["authors"] for h in await curation.history(node_id)] == [["admin", "editor"]]

    # audit entries keep before and after; a new version starts its own list of authors
    saved = [e for e in await audit.entries(target_id=node_id) if e["action"] == "policy.draft.save"]
    assert saved[0]["actor"] == "editor" and saved[0]["before"]["revision_authors"] == [{"revision": 1, "author": "admin"}]
    assert saved[0]["after"]["revision_authors"][-1] == {"revision": 2, "author": "editor"}
    second = await curation.save_draft("editor", node_id, "item", written.name, data={**ITEM, "benefit": "一次性奖励 30 万元"},
                                    condition=HIGH_TECH)
    assert second.version == 2 and second.revision_authors == [{"revision": 1, "author": "editor"}]
    await curation.submit("editor", node_id)
    assert (await curation.review("admin", node_id, approve=True)).reviewer == "admin"  # admin saved none of version 2
