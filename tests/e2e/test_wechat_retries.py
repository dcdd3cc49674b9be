"""WeChat's retries against the real service with two worker processes: the same message posted
four times at once is answered once, and every delivery carries the identical reply."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.e2e.served import served
from tests.wechat.conftest import AES_KEY, TOKEN, PlaysWeChat, text_xml
from tests.wechat.local_wechat import APPID, SECRET, LocalWeChat

pytestmark = pytest.mark.slow  # starts `rongyiban serve`


def service_env(tmp_path: Path, embedding_cache_file: str, api_base: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RYB_")}
    return {**clean, "RYB_DATA_DIR": str(tmp_path / "var"), "RYB_EMBEDDING_CACHE_FILE": embedding_cache_file,
            "RYB_LOG_JSON": "true", "RYB_LOAD_DEMO_POLICIES": "false",  # the answer comes from the guides
            "RYB_WECHAT_TOKEN": TOKEN, "RYB_WECHAT_AES_KEY": AES_KEY,
            "RYB_WECHAT_APPID": APPID, "RYB_WECHAT_SECRET": SECRET, "RYB_WECHAT_API_BASE": api_base}


async def test_four_concurrent_deliveries_two_workers_one_answer(tmp_path, embedding_cache_file):
    with LocalWeChat() as local_wechat, served(service_env(tmp_path, embedding_cache_file, local_wechat.base_url),
                                              workers=2) as base:
        xml = text_xml("o_retried", "公积金怎么提取", msg_id=9500000000000000001)

        async def deliver():
            # a connection each, as WeChat's retries come: the kernel spreads them over the workers
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                return await PlaysWeChat(http).post(xml)

        deliveries = await asyncio.gather(*(deliver() for _ in range(4)))
        custom_messages = local_wechat.calls("/cgi-bin/message/custom/send")

    assert all(d.status == 200 for d in deliveries)
    assert len({repr(d.fields) for d in deliveries}) == 1  # identical replies
    assert "公积金" in deliveries[0].content and custom_messages == []
    with sqlite3.connect(tmp_path / "var" / "rongyiban.db") as db:
        turns = db.execute("SELECT count(*) FROM chat_turns WHERE session_key = 'wechat:o_retried'").fetchone()[0]
        messages = db.execute("SELECT status, mode FROM wechat_messages").fetchall()
        late_jobs = db.execute("SELECT count(*) FROM outbox_jobs WHERE kind = 'wechat.late_reply'").fetchone()[0]
    assert turns == 1 and messages == [("answered", "passive")]
    # answered in place: no late customer-service message was ever queued, so none can follow
    assert late_jobs == 0
