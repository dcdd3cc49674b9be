"""Matching stored with its inputs: a refresh computes only pairs whose item or facts changed,
says which verdicts turned true (for pushes) or unknown (for prompts), and explains per pair."""

from __future__ import annotations

from policy_graph.engine import FALSE, TRUE, UNKNOWN
from tests.helpers import AS_OF, FIRM_A, FIRM_B, FIRM_C, HIGH_TECH, ITEM, publish, put


async def test_a_refresh_computes_only_what_changed(service, db):
    matches, curation, facts = service
    await publish(curation, "item:cd-hightech-first", HIGH_TECH)
    first = await matches.refresh(AS_OF)
    assert (first.computed_pairs, first.became_true, first.became_unknown) == (
        3, [("item:cd-hightech-first", FIRM_A)], [("item:cd-hightech-first", FIRM_B)])
    assert await matches.counts() == {"item:cd-hightech-first": {TRUE: 1, FALSE: 1, UNKNOWN: 1}}
    assert (await matches.refresh(AS_OF)).computed_pairs == 0  # nothing changed, nothing computed

    await put(db, facts, FIRM_B, source="税务", revenue_last_year=600.0)  # B supplies its revenue
    after_b = await matches.refresh(AS_OF)
    assert after_b.computed_pairs == 1 and after_b.became_true == [("item:cd-hightech-first", FIRM_B)]

    await publish(curation, "item:cd-any-chengdu", {"ref": "condition:chengdu.basic"}, delivery="免申即享")
    new_item = await matches.refresh(AS_OF)
    assert new_item.computed_pairs == 3 and {u for _, u in new_item.became_true} == {FIRM_A, FIRM_B}

    # B's revenue came from the tax bureau (authoritative); A's every fact is authoritative too
    assert [e["uscc"] for e in await matches.automatic_list("item:cd-any-chengdu", AS_OF)] == [FIRM_A, FIRM_B]


async def test_an_enterprise_sees_its_true_and_unknown_items_explained(service):
    matches, curation, _ = service
    await publish(curation, "item:cd-hightech-first", HIGH_TECH)
    [mine] = await matches.for_enterprise(FIRM_B, AS_OF)
    assert mine["verdict"] == UNKNOWN and mine["item"]["benefit"] == ITEM["benefit"]
    assert [s["fact"] for s in mine["to_supply"]] == ["revenue_last_year"]
    assert {a["clause"] for a in mine["atoms"]} == {"第三条", "第五条"}
    assert await matches.for_enterprise(FIRM_C, AS_OF) == []  # false: not listed
    [theirs] = await matches.for_enterprise(FIRM_A, AS_OF)
    assert theirs["verdict"] == TRUE and all(a["status"] == TRUE for a in theirs["atoms"])
    assert FALSE not in {a["status"] for a in theirs["atoms"]}
