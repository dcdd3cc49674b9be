"""Policies in the mini-program: finding items, one item's conditions in plain Chinese, and the
signed-in user's enterprise matches with what to supply (the demo policy graph loaded at start)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from server import create_app
from smartform.synthetic import enterprises, people
from store.tables.policy_graph import policy_push_optouts
from tests.helpers import assert_error, signed_in, walk_pages
from tests.identity_platform import verify_through_api
from tests.miniapp_api.conftest import serve

PEOPLE = people()
COMPANY = enterprises(PEOPLE)[2]  # its legal representative is PEOPLE[2]


async def test_find_read_and_match_policies(test_settings):
    app = create_app(test_settings.with_overrides(assistant=False, load_demo_policies=True))
    async with serve(app) as client:
        everything = (await client.get("/api/v1/policies", params={"page_size": 100})).json()
        assert everything["total"] >= 20
        await walk_pages(client, "/api/v1/policies", {})
        awards = (await client.get("/api/v1/policies", params={"category": "减免", "page_size": 100})).json()
        assert awards["total"] and {i["category"] for i in awards["items"]} == {"减免"}
        found = (await client.get("/api/v1/policies", params={"q": "高新技术企业"})).json()["items"]
        assert "cd-hightech-first-award" in [i["id"] for i in found]
        manufacturing = {i["id"] for i in (await client.get("/api/v1/policies", params={
            "industry": "C34", "page_size": 100})).json()["items"]}
        assert "cd-manufacturing-techrev-subsidy" in manufacturing and len(manufacturing) < everything["total"]
        assert_error(await client.get("/api/v1/policies", params={"category": "红包"}), 400, "invalid_request")
        assert_error(await client.get("/api/v1/policies", params={"industry": "34"}), 400, "invalid_request")

        item = (await client.get("/api/v1/policies/cd-hightech-first-award")).json()
        assert item["delivery"] == "免申即享" and item["departments"] == ["成都市科学技术局"]
        assert item["conditions"]["all"] is True
        texts = [p["text"] for p in item["conditions"]["parts"]]
        assert "资质与认定 具有首次认定高新技术企业" in texts or "具有首次认定高新技术企业" in texts
        assert {c["name"] for c in item["clauses"]} >= {"第二条"}
        assert_error(await client.get("/api/v1/policies/no-such-item"), 404, "policy_not_found")

        user, auth = await signed_in(app, "o_policy")
        assert_error(await client.get("/api/v1/me/enterprise/matches", headers=auth), 422, "enterprise_required")
        assert_error(await client.get("/api/v1/me/enterprise/matches"), 401, "token_missing")
        await verify_through_api(client, auth, PEOPLE[2])
        bound = await client.post("/api/v1/me/enterprise", headers=auth, json={"uscc": COMPANY["uscc"], "role": "法定代表人"})
        assert bound.status_code == 200
        catalogue = app.ctx.fact_catalogue
        async with app.ctx.db.transaction() as conn:
            for key, value in (("registered_district", "510107"), ("business_status", "存续"),
                               ("independent_legal_person", True), ("dishonest_entity", False),
                               ("tax_district", "510107"), ("qualifications", frozenset({"首次认定高新技术企业"}))):
                await app.ctx.enterprise_facts.store(conn, COMPANY["uscc"], key, value, date(2026, 11, 1), "法人库",
                                                     catalogue[key].authoritative)
        matches = (await client.get("/api/v1/me/enterprise/matches", headers=auth)).json()
        assert "cd-hightech-first-award" in [m["item"]["id"] for m in matches["qualified"]]
        assert matches["to_confirm"] and all(m["to_supply"] for m in matches["to_confirm"])
        assert all(a["status"] != "false" for m in matches["qualified"] for a in m["atoms"])

        assert (await client.put("/api/v1/me/policy-pushes", headers=auth, json={"enabled": False})).json() == {
            "enabled": False}
        async with app.ctx.db.read() as conn:
            assert (await conn.execute(sa.select(policy_push_optouts.c.user_id))).scalars().all() == [user]
        await client.put("/api/v1/me/policy-pushes", headers=auth, json={"enabled": True})
        async with app.ctx.db.read() as conn:
            assert (await conn.execute(sa.select(policy_push_optouts.c.user_id))).scalars().all() == []
        assert_error(await client.put("/api/v1/me/policy-pushes", headers=auth, json={"enabled": "maybe"}),
                     400, "invalid_request")
