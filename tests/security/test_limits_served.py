"""The body and rate limits of the real service (``rongyiban serve``) with one and two worker processes
(issue 15, item 10: the per-user limit reset by a new login, bodies read before the size check):
an over-limit body is refused from its Content-Length alone, and a user gets their burst once for
the whole server — the workers share one bucket per user — however many times they sign in."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.e2e.served import served
from tests.helpers import unread_body
from tests.wechat.local_wechat import APPID, SECRET, LocalWeChat

BURST = 6


def service_env(tmp_path: Path, embedding_cache_file: str, wechat: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RYB_")}
    return {**clean, "RYB_DATA_DIR": str(tmp_path / "var"), "RYB_EMBEDDING_CACHE_FILE": embedding_cache_file,
            "RYB_LOG_JSON": "true", "RYB_ASSISTANT": "false", "RYB_EMBEDDER": "none",
            # the limits need no content: no demo catalog, base library or policy graph to load at start
            "RYB_LOAD_DEMO": "false",
            "RYB_MINIAPP_APPID": APPID, "RYB_MINIAPP_SECRET": SECRET, "RYB_WECHAT_API_BASE": wechat,
            "RYB_RATE_LIMIT_IP_PER_SECOND": "1000000", "RYB_RATE_LIMIT_IP_BURST": "1000000",
            # no refill while the test runs: every 200 below comes out of the burst
            "RYB_RATE_LIMIT_USER_PER_SECOND": "0.001", "RYB_RATE_LIMIT_USER_BURST": str(BURST)}


@pytest.mark.slow  # starts `rongyiban serve`
@pytest.mark.parametrize("workers", [1, 2])
async def test_one_bucket_per_user_and_bodies_refused_unread(tmp_path, embedding_cache_file, workers):
    with LocalWeChat() as wechat, served(service_env(tmp_path, embedding_cache_file, wechat.base_url),
                                         workers=workers) as base:

        async def fresh(method: str, path: str, **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
            # a connection each: the kernel spreads new connections over the workers
            async with httpx.AsyncClient(base_url=base, timeout=60) as http:
                return await http.request(method, path, **kwargs)

        tokens = [(await fresh("POST", "/api/v1/auth/login", json={"code": f"busy-{n}"})).json()["token"]
                  for n in range(2)]  # the same user, signed in twice
        answers = await asyncio.gather(*(fresh("GET", "/api/v1/me", headers={
            "Authorization": f"Bearer {tokens[n % 2]}"}) for n in range(4 * BURST)))
        statuses = Counter(a.status_code for a in answers)
        # per worker and per token, up to 4 × BURST would pass; shared and per user, exactly BURST
        assert statuses == {200: BURST, 429: 3 * BURST}, statuses
        third = (await fresh("POST", "/api/v1/auth/login", json={"code": "busy-3"})).json()["token"]
        assert (await fresh("GET", "/api/v1/me", headers={"Authorization": f"Bearer {third}"})).status_code == 429
        other = (await fresh("POST", "/api/v1/auth/login", json={"code": "quiet-1"})).json()["token"]
        assert (await fresh("GET", "/api/v1/me", headers={"Authorization": f"Bearer {other}"})).status_code == 200

        for _ in range(4):  # on fresh connections, so on both workers
            status, answer = await unread_body(base, "POST", "/api/v1/chat", {
                "Content-Type": "application/json", "Content-Length": str(50 * 1024 * 1024)})
            assert status == 413 and answer["error"]["code"] == "payload_too_large"
