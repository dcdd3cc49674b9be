"""Helpers shared by test modules (test modules import from here, never from one another)."""

from __future__ import annotations

import asyncio
import inspect
import json
import time as clock
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx

from policy_graph.curation import PolicyCuration
from policy_graph.enterprise_facts import EnterpriseFacts
from policy_graph.facts import FactCatalogue
from smartform.synthetic import people
from store.tables.applications import applications
from tests.identity_platform import verify_user


def half_past_eleven_utc() -> datetime:
    """23:30 UTC on the server's current UTC day: 07:30 the next morning in China, the hours in
    which a server's own ``date.today()`` names the wrong day."""
    return datetime.combine(datetime.now(UTC).date(), time(23, 30), UTC)


def china_day_at_half_past_eleven_utc() -> date:
    return half_past_eleven_utc().date() + timedelta(days=1)


async def wait_until(condition: Callable[[], object], timeout: float = 60, interval: float = 0.02) -> None:
    """Wait for ``condition()`` (a function or a coroutine function) to hold — a state the code
    under test reaches — instead of sleeping for a time that is long enough on a quiet machine
    only. ``timeout`` is a safety net, not a measurement."""
    deadline = clock.monotonic() + timeout
    while not ((await held) if inspect.isawaitable(held := condition()) else held):
        assert clock.monotonic() < deadline, f"never happened within {timeout} s"
        await asyncio.sleep(interval)


# --- the HTTP API ------------------------------------------------------------------------------
def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


async def signed_in(app, openid: str) -> tuple[str, dict[str, str]]:
    user = await app.ctx.identities.user_for_openid(openid)
    token, _ = await app.ctx.tokens.issue(user)
    return user, {"Authorization": f"Bearer {token}"}


async def add_application(app, user: str, number: str) -> None:
    now = datetime.now(UTC)
    async with app.ctx.db.transaction() as conn:
        await conn.execute(applications.insert().values(
            number=number, draft_id=f"d-{number}", user_id=user, item_code="CD-0053", item_name="个体工商户设立登记",
            item_version=1, form_version=1, data={}, attachments=[], status="submitted", submitted_at=now, updated_at=now))
    await app.ctx.applications.record_status(number, "accepted", event_id=f"e-{number}", note=None, source="approval")


PDF = b"%PDF-1.4\n% a tiny test document\n"
PERSON = people()[11]


async def login(app, openid: str, bind: bool = True) -> dict[str, str]:
    user = await app.ctx.identities.user_for_openid(openid)
    if bind:
        await verify_user(app.ctx.identities, user, PERSON)
    token, _ = await app.ctx.tokens.issue(user)
    return {"Authorization": f"Bearer {token}"}


def filled(draft: dict) -> dict:
    """The rest of 个体工商户设立登记, as the citizen types it."""
    return {**draft["data"], "operator_phone": "13800001234", "use_name": False, "organisation_form": "个人经营",
            "premises_district": "510104", "premises_address": "成都市锦江区示例路1号", "premises_proof": "租赁合同",
            "business_scope": "小吃服务", "capital": "5", "employees": 2, "by_agent": False}


async def walk_pages(client, path: str, headers: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """The pagination rule on one list: every record once over the pages, a page past the end
    empty with the same total, and bad paging arguments refused."""
    first = (await client.get(path, headers=headers, params={"page_size": 2})).json()
    assert first["page"] == 1 and first["page_size"] == 2 and first["total"] >= 5, path
    seen = []
    for page in range(1, (first["total"] + 1) // 2 + 1):
        answer = (await client.get(path, headers=headers, params={"page": page, "page_size": 2})).json()
        assert answer["total"] == first["total"] and len(answer["items"]) <= 2
        seen += [str(item) for item in answer["items"]]
    assert len(seen) == len(set(seen)) == first["total"], f"{path}: every record once, none twice"
    beyond = (await client.get(path, headers=headers, params={"page": 9999, "page_size": 2})).json()
    assert beyond["items"] == [] and beyond["total"] == first["total"]
    for bad in ({"page": 0}, {"page_size": 0}, {"page_size": 101}, {"page": "x"}, {"pages": 2}):
        assert_error(await client.get(path, headers=headers, params=bad), 400, "invalid_request")


async def unread_body(base_url: str, method: str, path: str, headers: dict[str, str],
                      sent: list[bytes] = ()) -> tuple[int, dict[str, Any]]:  # type: ignore[assignment]
    """Send a request's head and only ``sent`` of its body, then read the answer: (status, JSON).
    A server that waited for the rest would never answer; the guard below then fails the test
    instead of letting it hang."""
    url = httpx.URL(base_url)

    async def exchange() -> tuple[int, dict[str, Any]]:
        reader, writer = await asyncio.open_connection(url.host, url.port)
        try:
            head = f"{method} {path} HTTP/1.1\r\nHost: {url.host}:{url.port}\r\n"
            head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
            writer.write(head.encode())
            for part in sent:
                writer.write(part)
            await writer.drain()
            status = int((await reader.readline()).split()[1])
            answer_headers = {}
            while (line := (await reader.readline()).strip()):
                name, _, value = line.decode().partition(":")
                answer_headers[name.lower()] = value.strip()
            body = await reader.readexactly(int(answer_headers["content-length"]))
            return status, json.loads(body)
        finally:
            writer.close()

    return await asyncio.wait_for(exchange(), timeout=60)


def chunked(total: int, chunk: int = 65_536) -> list[bytes]:
    """``total`` bytes of JSON whitespace in chunks, without the final empty chunk: the body is never done."""
    parts = []
    while total > 0:
        size = min(chunk, total)
        parts.append(f"{size:x}\r\n".encode() + b" " * size + b"\r\n")
        total -= size
    return parts


# --- the policy graph --------------------------------------------------------------------------
DEMO_POLICIES = Path(__file__).resolve().parents[1] / "demo" / "policies" / "chengdu_policies.yaml"
CATALOGUE = FactCatalogue.load()
BASIC = {"all": [{"fact": "registered_district", "op": "under", "value": ["510100"], "clause": "第三条"},
                 {"fact": "independent_legal_person", "op": "is", "value": True, "clause": "第三条"}]}
ITEM = {"category": "奖补", "delivery": "申报", "benefit": "一次性奖励 20 万元", "amount": {"fixed": 200000}}
HIGH_TECH = {"all": [{"ref": "condition:chengdu.basic"},
                     {"fact": "qualifications", "op": "has", "value": "首次认定高新技术企业", "clause": "第五条"},
                     {"fact": "revenue_last_year", "op": ">=", "param": "cd.hightech.revenue_floor", "clause": "第五条"}]}
AS_OF = date(2026, 12, 1)
FIRM_A, FIRM_B, FIRM_C = "91510100MA61234567", "91510107MA6C5XJ01K", "91440115708216261R"


async def seed(curation: PolicyCuration) -> None:
    await curation.set_parameter("editor", "cd.hightech.revenue_floor", "number", date(2024, 1, 1), 500,
                                 "成科字〔2024〕1号 第五条")
    for node_id, kind, name, condition in (("department:cd-kj", "department", "成都市科学技术局", None),
                                           ("qualification:高新技术企业", "qualification", "高新技术企业", None),
                                           ("condition:chengdu.basic", "condition", "在蓉注册的独立法人", BASIC)):
        await curation.save_draft("editor", node_id, kind, name, condition=condition)
        await curation.submit("editor", node_id)
        await curation.review("reviewer", node_id, approve=True)
        await curation.publish("reviewer", node_id)


async def publish(curation: PolicyCuration, node_id: str, condition: dict, delivery: str = "申报") -> None:
    await curation.save_draft("editor", node_id, "item", node_id, data={**ITEM, "delivery": delivery},
                              condition=condition)
    await curation.submit("editor", node_id)
    await curation.review("reviewer", node_id, approve=True)
    await curation.publish("reviewer", node_id)


async def put(db, facts: EnterpriseFacts, uscc: str, source: str = "法人库", **values) -> None:  # type: ignore[no-untyped-def]
    async with db.transaction() as conn:
        for key, value in values.items():
            await facts.store(conn, uscc, key, value, date(2026, 11, 1), source, CATALOGUE[key].authoritative)
