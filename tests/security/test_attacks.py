"""The attacks of the trust review, replayed against the real service (``rongyiban serve``) with one
and with two worker processes: every one of them is refused. Each test names the finding it
reproduces (issue 15); the closing note's table of attack → before → after comes from here."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from smartform.synthetic import enterprises, people
from tests.e2e.served import RONGYIBAN, ROOT, served
from tests.identity_platform import authorize, settings_for
from tests.wechat.local_wechat import APPID, SECRET, LocalWeChat

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


@pytest.fixture(scope="module", params=[1, 2], ids=["one-worker", "two-workers"])
def service(request, tmp_path_factory, embedding_cache_file, identity_platform) -> Iterator[Service]:
    data_dir = tmp_path_factory.mktemp("attacked") / "var"
    with LocalWeChat() as wechat:
        env = _env(data_dir, embedding_cache_file, wechat.base_url, identity_platform.issuer)
        for username, role in (("wang.admin", "admin"), ("li.editor", "editor"), ("zhao.reviewer", "reviewer")):
            subprocess.run([*RONGYIBAN, "create-staff", "--username", username, "--name", username, "--role", role,
                            "--password-stdin"], input=STAFF_PASSWORD + "\n", env=env, cwd=ROOT, check=True,
                           capture_output=True, text=True)
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


# 10. Low: weak staff passwords, the same rule on every path ------------------------------------
async def test_weak_staff_passwords_are_refused_everywhere(service):
    async with service.http() as http:
        signed = await http.post("/api/v1/staff/sessions", json={"username": "zhao.reviewer",
                                                                 "password": STAFF_PASSWORD})
        assert signed.status_code == 201
    env = {**os.environ, "RYB_DATA_DIR": str(service.data_dir)}
    for weak in (" " * 12, "password12", "P@ssw0rd2026!"):
        made = subprocess.run([*RONGYIBAN, "create-staff", "--username", f"weak{uuid.uuid4().hex[:6]}", "--name", "弱",
                               "--role", "editor", "--password-stdin"], input=weak + "\n", env=env, cwd=ROOT,
                              capture_output=True, text=True)
        assert made.returncode == 1 and "密码" in made.stderr
