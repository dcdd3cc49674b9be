"""The attacks of the trust review, replayed against the real service (``rongyiban serve``) with one
and with two worker processes: every one of them is refused. Each test names the finding it
reproduces (issue 15); the closing note's table of attack → before → after comes from here."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from smartform.approval import signature
from smartform.synthetic import enterprises, people
from tests.e2e.served import rongyiban_many, served
from tests.helpers import filled, wait_until
from tests.identity_platform import authorize, settings_for
from tests.wechat.local_wechat import APPID, SECRET, LocalWeChat

pytestmark = pytest.mark.slow  # every test here runs against `rongyiban serve`

PEOPLE = people()
COMPANY = enterprises(PEOPLE)[2]  # its legal representative is PEOPLE[2]
STAFF_PASSWORD = "attack-review-2026"
APPROVAL_SECRET = "attack-review-approval-secret"


class Service:
    def __init__(self, base: str, data_dir: Path) -> None:
        self.base, self.data_dir = base, data_dir
        self._logins = 0

    def http(self) -> httpx.AsyncClient:
        # a connection per client: the kernel spreads them over the workers
        return httpx.AsyncClient(base_url=self.base, timeout=60)

    async def citizen(self, name: str) -> dict[str, str]:
        self._logins += 1
        async with self.http() as http:
            answer = await http.post("/api/v1/auth/login", json={"code": f"{name}-{self._logins}"})
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['token']}"}

    async def verified(self, person: dict[str, Any], name: str) -> dict[str, str]:
        auth = await self.citizen(name)
        async with self.http() as http:
            started = (await http.post("/api/v1/me/identity/platform", headers=auth)).json()
            code, state = await authorize(started["authorize_url"], person)
            done = await http.post("/api/v1/me/identity/platform/callback", headers=auth,
                                   json={"code": code, "state": state})
        assert done.json()["identity_level"] == "high", done.text
        return auth

    def rows(self, sql: str, *params: Any) -> list[tuple]:
        with sqlite3.connect(self.data_dir / "rongyiban.db") as db:
            return db.execute(sql, params).fetchall()


def _env(data_dir: Path, embedding_cache_file: str, wechat: str, issuer: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RYB_")}
    overrides = {f"RYB_{k.upper()}": v for k, v in settings_for(issuer).items()}
    return {**clean, **overrides, "RYB_DATA_DIR": str(data_dir), "RYB_EMBEDDING_CACHE_FILE": embedding_cache_file,
            "RYB_MINIAPP_APPID": APPID, "RYB_MINIAPP_SECRET": SECRET, "RYB_WECHAT_API_BASE": wechat,
            "RYB_APPROVAL_SECRET": APPROVAL_SECRET, "RYB_LOG_JSON": "true"}


# one xdist group per worker count: the two services start on two test processes at once, and the
# tests of each run where their service is (see [tool.pytest.ini_options] in pyproject.toml)
@pytest.fixture(scope="module", ids=["one-worker", "two-workers"],
                params=[pytest.param(1, marks=pytest.mark.xdist_group("attacks-one-worker")),
                        pytest.param(2, marks=pytest.mark.xdist_group("attacks-two-workers"))])
def service(request, tmp_path_factory, embedding_cache_file, identity_platform) -> Iterator[Service]:
    data_dir = tmp_path_factory.mktemp("attacked") / "var"
    with LocalWeChat() as wechat:
        env = _env(data_dir, embedding_cache_file, wechat.base_url, identity_platform.issuer)
        facts = data_dir.parent / "facts.csv"  # one enterprise the curated item below will match
        facts.write_text("uscc,key,value,unit,as_of,source\n"
                         f"{COMPANY['uscc']},registered_district,510107,,2026-11-01,法人库\n"
                         f"{COMPANY['uscc']},invention_patents,2,件,2026-11-01,知识产权库\n", encoding="utf-8")
        staff = [(["create-staff", "--username", username, "--name", username, "--role", role, "--password-stdin"],
                  STAFF_PASSWORD + "\n")
                 for username, role in (("wang.admin", "admin"), ("sun.admin", "admin"), ("li.editor", "editor"),
                                        ("zhao.reviewer", "reviewer"))]
        for done in rongyiban_many([*staff, (["load-facts", "--format", "csv", str(facts)], "")], env):
            assert done.returncode == 0, done.stderr
        with served(env, workers=request.param) as base:
            yield Service(base, data_dir)


async def _burst(service: Service, count: int, send) -> list[httpx.Response]:  # type: ignore[no-untyped-def]
    async def one(n: int) -> httpx.Response:
        async with service.http() as http:
            return await send(http, n)
    return list(await asyncio.gather(*(one(n) for n in range(count))))


# 1. Sign-in lockout bypassed by parallel guesses (high) -----------------------------------------
async def test_parallel_password_guesses_get_no_more_than_five_checks(service):
    name = "wang.admin"
    guesses = await _burst(service, 29, lambda http, n: http.post(
        "/api/v1/staff/sessions", json={"username": name, "password": f"wrong-guess-{n:04d}"}))
    statuses = Counter(r.status_code for r in guesses)
    assert statuses[401] <= 5 and statuses[401] + statuses[429] == 29, statuses
    assert all(r.headers.get("Retry-After") for r in guesses if r.status_code == 429)
    async with service.http() as http:
        right = await http.post("/api/v1/staff/sessions", json={"username": name, "password": STAFF_PASSWORD})
        assert right.status_code == 429  # the right password too, until the wait is over
        # the console's sign-in form counts against the same name and address
        page = await http.get("/console/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        console = await http.post("/console/login", data={"username": name, "password": STAFF_PASSWORD,
                                                           "csrf_token": token, "next": "/console/"})
        assert console.status_code == 429


# 2. Real-name binding limit bypassed by parallel guesses (high) ---------------------------------
async def test_parallel_name_guesses_for_one_id_number_reach_the_library_five_times(service):
    target = PEOPLE[120]
    guessers = [await service.citizen(f"guesser{n}") for n in range(3)]  # several accounts, one victim
    answers = await _burst(service, 19, lambda http, n: http.post(
        "/api/v1/me/identity", headers=guessers[n % 3], json={"name": f"猜{n}", "id_number": target["id_number"]}))
    statuses = Counter(r.status_code for r in answers)
    assert statuses[422] <= 5 and statuses[422] + statuses[429] == 19, statuses
    async with service.http() as http:
        right = await http.post("/api/v1/me/identity", headers=await service.citizen("guesser9"),
                                json={"name": target["name"], "id_number": target["id_number"]})
    assert right.status_code == 429


# 3. Anyone can become 经办人 of any enterprise (high) ---------------------------------------------
async def test_an_agent_without_the_representatives_grant_gets_nothing(service):
    intruder = await service.verified(PEOPLE[130], "intruder")
    async with service.http() as http:
        bound = await http.post("/api/v1/me/enterprise", headers=intruder,
                                json={"uscc": COMPANY["uscc"], "role": "经办人"})
        assert bound.status_code == 403 and bound.json()["error"]["code"] == "grant_required"
        assert (await http.get("/api/v1/me/enterprise/matches", headers=intruder)).status_code == 422
        await http.post("/api/v1/forms/CD-0053/consent", headers=intruder, json={"fields": ["legal_person.name"]})
        opened = await http.post("/api/v1/forms/CD-0053/prefill", headers=intruder)
        assert COMPANY["name"] not in opened.text and COMPANY["uscc"] not in opened.text


# 4. Knowledge-only identity ------------------------------------------------------------------
async def test_knowing_a_name_and_id_number_reads_nothing_and_files_nothing(service):
    victim = PEOPLE[140]
    await service.verified(victim, "victim")
    impostor = await service.citizen("impostor")
    async with service.http() as http:
        second = await http.post("/api/v1/me/identity", headers=impostor,
                                 json={"name": victim["name"], "id_number": victim["id_number"]})
        assert second.status_code == 409  # the person is bound to their own account already
        other = PEOPLE[141]  # someone not yet bound anywhere: the fallback binds, but at knowledge level
        bound = await http.post("/api/v1/me/identity", headers=impostor,
                                json={"name": other["name"], "id_number": other["id_number"]})
        assert bound.json()["identity_level"] == "knowledge"
        await http.post("/api/v1/forms/CD-0053/consent", headers=impostor,
                        json={"fields": ["population.name", "population.phone", "population.household_address"]})
        opened = (await http.post("/api/v1/forms/CD-0053/prefill", headers=impostor)).json()
        assert opened["prefill"]["identity_verification_required"] and other["name"] not in json.dumps(opened)
        submitted = await http.post(f"/api/v1/drafts/{opened['draft']['id']}/submit", headers=impostor)
        assert submitted.status_code == 403
    assert service.rows("SELECT count(*) FROM applications") == [(0,)]


async def _application(service: Service, person: dict[str, Any], name: str) -> tuple[str, dict[str, str]]:
    """A verified citizen's submitted 个体工商户设立登记, as the mini-program files it."""
    auth = await service.verified(person, name)
    async with service.http() as http:
        await http.post("/api/v1/forms/CD-0053/consent", headers=auth,
                        json={"fields": ["population.name", "population.id_number", "population.phone"]})
        draft = (await http.post("/api/v1/forms/CD-0053/prefill", headers=auth)).json()["draft"]
        await http.put(f"/api/v1/drafts/{draft['id']}", headers=auth,
                       json={"data": filled(draft), "revision": draft["revision"]})
        await http.post(f"/api/v1/drafts/{draft['id']}/attachments", headers=auth, data={"key": "premises_document"},
                        files={"file": ("lease.pdf", b"%PDF-1.4\n% lease\n")})
        submitted = await http.post(f"/api/v1/drafts/{draft['id']}/submit", headers=auth)
    assert submitted.status_code == 201, submitted.text
    return submitted.json()["application"]["number"], auth


def _signed(body: dict[str, Any], timestamp: str | None = None) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    return raw, {"X-Timestamp": timestamp, "X-Signature": signature(APPROVAL_SECRET, timestamp, raw),
                 "Content-Type": "application/json"}


# 5. 12345 tickets readable by anyone with the number (medium) -----------------------------------
async def test_a_ticket_is_told_only_to_whoever_filed_it(service):
    async with service.http() as http:
        filed = (await http.post("/api/v1/chat", json={
            "session_id": f"filer-{uuid.uuid4().hex[:8]}",
            "text": "我要投诉，我家小区门口的路灯坏了一个月了，联系电话 +86 139-0000-1111"})).json()
        number = next(q for q in filed["reply"]["quick_replies"] if q.startswith("查询工单"))[4:]
        assert re.fullmatch(r"12345\d{22}", number)  # 16 random digits after the date: not to be enumerated
        snooped = (await http.post("/api/v1/chat", json={"session_id": f"snoop-{uuid.uuid4().hex[:8]}",
                                                         "text": f"查询工单{number}"})).json()
    assert "路灯" not in json.dumps(snooped, ensure_ascii=False) and "没有查到" in snooped["reply"]["text"]


# 6. Approval callback: any order accepted, event ids across applications, huge timestamps -----
async def test_approval_callbacks_follow_the_status_flow(service):
    first, _ = await _application(service, PEOPLE[150], "applicant1")
    second, _ = await _application(service, PEOPLE[151], "applicant2")
    async with service.http() as http:
        async def report(number: str, status: str, event_id: str, timestamp: str | None = None) -> httpx.Response:
            raw, headers = _signed({"event_id": event_id, "application_no": number, "status": status}, timestamp)
            return await http.post("/api/v1/approval/callback", content=raw, headers=headers)

        assert (await report(first, "accepted", "1")).status_code == 200
        assert (await report(first, "certificate_issued", "2")).status_code == 200
        back = await report(first, "submitted", "3")  # an issued certificate is final
        assert back.status_code == 409 and back.json()["error"]["code"] == "invalid_transition"
        assert (await report(second, "accepted", "1")).status_code == 200  # the same event id, another application
        huge = await report(second, "in_review", "2", timestamp="9" * 400)
        assert huge.status_code == 401 and huge.json()["error"]["code"] == "bad_timestamp"
    statuses = dict(service.rows("SELECT number, status FROM applications WHERE number IN (?, ?)", first, second))
    assert statuses == {first: "certificate_issued", second: "accepted"}


# 7. Own-change rule bypassed by a colleague's re-save (medium), and
# 8. 免申即享 CSV writes formula cells as-is (medium) -------------------------------------------
async def test_a_resaved_change_is_still_its_authors_and_its_export_is_inert(service):
    item = "/api/v1/staff/policy/nodes/item:attack-formula-award"
    condition = {"all": [{"fact": "registered_district", "op": "under", "value": ["510100"], "clause": "第二条"},
                         {"fact": "invention_patents", "op": ">=", "value": 1, "clause": "@SUM(1+1)"}]}
    async with service.http() as http:
        async def bearer(name: str) -> dict[str, str]:
            signed = await http.post("/api/v1/staff/sessions", json={"username": name, "password": STAFF_PASSWORD})
            assert signed.status_code == 201, signed.text
            return {"Authorization": f"Bearer {signed.json()['token']}"}

        # sun.admin: wang.admin is made to wait by the first attack, from this same address
        admin, editor, reviewer = await bearer("sun.admin"), await bearer("li.editor"), await bearer("zhao.reviewer")
        written = await http.put(item, headers=admin, json={
            "kind": "item", "name": '=HYPERLINK("http://evil.example","领取补贴")', "condition": condition,
            "data": {"category": "奖补", "delivery": "免申即享", "benefit": "见政策原文"}})
        assert written.status_code == 200, written.text
        read = (await http.get(item, headers=editor)).json()["latest"]
        await http.put(item, headers=editor, json={k: read[k] for k in ("kind", "name", "data", "condition", "revision")})
        assert (await http.post(f"{item}/submit", headers=editor)).status_code == 200
        own = await http.post(f"{item}/review", json={"approve": True}, headers=admin)
        assert own.status_code == 403 and own.json()["error"]["code"] == "own_change"
        assert (await http.post(f"{item}/review", json={"approve": True}, headers=reviewer)).status_code == 200
        assert (await http.post(f"{item}/publish", headers=admin)).status_code == 403
        assert (await http.post(f"{item}/publish", headers=reviewer)).status_code == 200

        listed = "/api/v1/staff/policy/items/item:attack-formula-award/automatic"
        async def enterprise_listed() -> bool:
            answer = await http.get(listed, headers=reviewer)
            return answer.status_code == 200 and bool(answer.json()["enterprises"])

        # matching reruns on publish, in the background; polled within the per-user rate limit
        await wait_until(enterprise_listed, interval=0.25)
        exported = await http.get(listed, params={"format": "csv"}, headers=reviewer)
    assert exported.status_code == 200, exported.text
    cells = [cell for row in csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))) for cell in row]
    assert COMPANY["uscc"] in cells
    assert not any(cell.lstrip().startswith(("=", "@", "+", "-")) for cell in cells), cells


# 9. Masking misses common formats (medium) ---------------------------------------------------
async def test_id_and_phone_numbers_in_any_format_are_stored_masked(service):
    spaced_id, phone = "5101 8119 8407 0468 45", "+86 139-0000-1111"
    full_width = "１３８００００６３３６"
    async with service.http() as http:
        await http.post("/api/v1/chat", json={"session_id": f"mask-{uuid.uuid4().hex[:8]}",
                                              "text": f"我的身份证 {spaced_id} 电话 {phone} 备用 {full_width} 社保卡怎么补办"})
    stored = " ".join(row[0] for row in service.rows("SELECT text FROM chat_turns"))
    for raw in ("8119 8407 0468", "0000-1111", "００００６３３６", "13900001111", "13800006336"):
        assert raw not in stored
    assert "5101" in stored and "139****1111" in stored


# 10. Low: anyone could rate any chat turn (opening a staff follow-up task) --------------------------
async def test_only_the_person_answered_may_rate_the_answer(service):
    asker, rater = await service.citizen("asker"), await service.citizen("rater")
    async with service.http() as http:
        turn = (await http.post("/api/v1/chat", headers=asker, json={"text": "社保卡丢了怎么补办"})).json()
        before = service.rows("SELECT count(*) FROM followup_tasks")
        rated = await http.post("/api/v1/evaluations", headers=rater, json={
            "target_type": "answer", "target_id": str(turn["turn_id"]), "stars": 1, "tags": ["指引不清"]})
        assert rated.status_code == 404
        assert service.rows("SELECT count(*) FROM followup_tasks") == before
        own = await http.post("/api/v1/evaluations", headers=asker, json={
            "target_type": "answer", "target_id": str(turn["turn_id"]), "stars": 5, "tags": []})
        assert own.status_code == 201, own.text


# 10. Low: deeply nested JSON, weak staff passwords ---------------------------------------------
async def test_a_thousand_levels_of_json_are_refused_cleanly(service):
    auth = await service.citizen("nester")
    async with service.http() as http:
        draft = (await http.post("/api/v1/forms/CD-0053/prefill", headers=auth)).json()["draft"]
        nested = b'{"data": {"operator_phone": ' + b"[" * 1000 + b"]" * 1000 + b'}, "revision": 1}'
        answer = await http.put(f"/api/v1/drafts/{draft['id']}", headers={**auth, "Content-Type": "application/json"},
                                content=nested)
    assert answer.status_code in (400, 422) and "error" in answer.json()


# 10. Low: weak staff passwords, the same rule on every path ------------------------------------
async def test_weak_staff_passwords_are_refused_everywhere(service):
    async with service.http() as http:
        signed = await http.post("/api/v1/staff/sessions", json={"username": "zhao.reviewer",
                                                                 "password": STAFF_PASSWORD})
        assert signed.status_code == 201
    env = {**os.environ, "RYB_DATA_DIR": str(service.data_dir)}
    weak_passwords = (" " * 12, "password12", "P@ssw0rd2026!")
    made = rongyiban_many([(["create-staff", "--username", f"weak{uuid.uuid4().hex[:6]}", "--name", "弱",
                             "--role", "editor", "--password-stdin"], weak + "\n") for weak in weak_passwords], env)
    for weak, refused in zip(weak_passwords, made, strict=True):
        assert refused.returncode == 1 and "密码" in refused.stderr, (weak, refused)
