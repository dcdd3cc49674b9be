"""Questions over the graph: a qualification's items, one item's conditions and department (also
as a follow-up), and "what can my company claim" for a user acting for an enterprise."""

from __future__ import annotations

from datetime import date

from policy_graph.advisor import PolicyAdvisor
from policy_graph.curation import PolicyCuration
from policy_graph.enterprise_facts import EnterpriseFacts
from policy_graph.facts import FactCatalogue
from policy_graph.graph import PolicyGraph
from policy_graph.importer import import_policies, read
from policy_graph.matching import MatchService
from tests.helpers import DEMO_POLICIES as DEMO

CATALOGUE = FactCatalogue.load()
TODAY = date(2026, 12, 1)
FIRM = "91510107MA6C5XJ01K"


async def test_questions_are_answered_from_the_demo_graph(sqlite_db, tmp_path):
    from store.audit import AuditLog

    graph = PolicyGraph(sqlite_db, CATALOGUE)
    await import_policies(graph, PolicyCuration(sqlite_db, AuditLog(sqlite_db), CATALOGUE, graph), read(DEMO))
    facts = EnterpriseFacts(sqlite_db, CATALOGUE)
    advisor = PolicyAdvisor(graph, MatchService(sqlite_db, graph, facts, CATALOGUE))

    many = await advisor.answer("高新技术企业有什么奖励", TODAY)
    assert many.kind == "items" and "item:cd-hightech-first-award" in [i["id"] for i in many.items]
    assert all(i["departments"] for i in many.items)
    one = await advisor.answer("首次认定高新技术企业奖励要什么条件", TODAY)
    assert (one.kind, one.aspect) == ("item", "conditions") and one.sources[0][0] == "item:cd-hightech-first-award"
    assert one.items[0]["conditions"]["all"] is True and one.items[0]["clauses"] == ["第二条"]
    basic = one.items[0]["conditions"]["parts"][0]["parts"]  # the shared 在蓉注册 condition, codes as names
    assert basic[0]["text"] == "工商注册地 属于 成都市"
    who = await advisor.answer("这个补贴找哪个部门办", TODAY, current="item:cd-hightech-first-award")
    assert who.aspect == "department" and who.items[0]["departments"] == ["成都市科学技术局"]
    giant = await advisor.answer("专精特新小巨人奖励多少", TODAY)  # asked without the quotation marks
    assert "item:cd-little-giant-award" in [i["id"] for i in giant.items]
    assert await advisor.answer("身份证怎么补办", TODAY) is None  # nothing in the graph: the guides answer

    assert (await advisor.answer("我们公司能申请哪些政策", TODAY)).kind == "need_enterprise"
    async with sqlite_db.transaction() as conn:
        for key, value in (("registered_district", "510107"), ("business_status", "存续"), ("dishonest_entity", False),
                           ("independent_legal_person", True), ("tax_district", "510107"),
                           ("qualifications", frozenset({"首次认定高新技术企业"}))):
            await facts.store(conn, FIRM, key, value, TODAY, "法人库", True)
    mine = await advisor.answer("我们公司能申请哪些政策", TODAY, uscc=FIRM)
    assert mine.kind == "mine"
    verdicts = {a["item"]["id"]: a["verdict"] for a in mine.items}
    assert verdicts["item:cd-hightech-first-award"] == "true" and "unknown" in verdicts.values()
