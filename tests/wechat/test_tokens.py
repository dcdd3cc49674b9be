"""The access token: one fetch for all workers, refreshed before expiry, one refresh on an
invalid-token error, a daily budget, never logged. Against the local WeChat API server and real
databases (two engines on one database stand in for two processes)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial

import pytest

from logs import configure_logging
from store.database import Database
from store.tables.base import utcnow
from tests.wechat.local_wechat import APPID, SECRET
from wechat.api import WeChatApi, WeChatApiError
from wechat.tokens import AccessTokenManager, TokenBudgetExhausted


def make_api(db: Database, base_url: str, **options) -> WeChatApi:
    return WeChatApi(base_url, APPID, SECRET, tokens=partial(AccessTokenManager, db, **options))


async def test_many_workers_share_one_fetch(db, second_db, local_wechat):
    workers = [make_api(db, local_wechat.base_url), make_api(second_db, local_wechat.base_url),
               make_api(db, local_wechat.base_url)]
    tokens = await asyncio.gather(*(api.tokens.get() for api in workers for _ in range(10)))
    assert len(set(tokens)) == 1 and local_wechat.token_fetches == 1
    assert await workers[1].tokens.fetches_today() == 1
    for api in workers:
        await api.close()


async def test_the_token_is_refreshed_before_it_expires(db, local_wechat):
    now = [utcnow()]
    api = make_api(db, local_wechat.base_url, clock=lambda: now[0])
    await api.tokens.get()
    await api.tokens.get()
    assert local_wechat.token_fetches == 1
    now[0] += timedelta(seconds=7200 - 299)  # inside the five-minute margin
    await api.tokens.get()
    assert local_wechat.token_fetches == 2
    await api.close()


async def test_an_invalidated_token_is_refreshed_once_and_the_call_retried(db, local_wechat):
    api = make_api(db, local_wechat.base_url)
    await api.send_custom_message({"touser": "o1", "msgtype": "text", "text": {"content": "一"}})
    local_wechat.invalidate_tokens()
    await api.send_custom_message({"touser": "o1", "msgtype": "text", "text": {"content": "二"}})
    assert local_wechat.token_fetches == 2
    sends = local_wechat.calls("/cgi-bin/message/custom/send")
    assert [s.body["text"]["content"] for s in sends] == ["一", "二", "二"]  # refused once, then sent
    assert local_wechat.calls("/cgi-bin/stable_token")[-1].body["force_refresh"] is True

    local_wechat.fail_next("/cgi-bin/message/custom/send", 42001, "access_token expired", times=2)
    with pytest.raises(WeChatApiError) as refused:  # one refresh and one retry, not a loop
        await api.send_custom_message({"touser": "o1", "msgtype": "text", "text": {"content": "三"}})
    assert refused.value.errcode == 42001 and local_wechat.token_fetches == 3
    await api.close()


async def test_fetches_stop_at_the_daily_budget(db, local_wechat):
    api = make_api(db, local_wechat.base_url, daily_budget=2)
    first = await api.tokens.get()
    await api.tokens.invalidate(first)
    with pytest.raises(TokenBudgetExhausted):
        await api.tokens.invalidate(await api.tokens.get())
    assert local_wechat.token_fetches == 2
    await api.close()


async def test_a_bad_secret_is_an_error_and_releases_the_lease(db, local_wechat):
    api = WeChatApi(local_wechat.base_url, APPID, "wrong-secret", tokens=partial(AccessTokenManager, db))
    with pytest.raises(WeChatApiError) as refused:
        await api.tokens.get()
    assert refused.value.errcode == 40125
    other = make_api(db, local_wechat.base_url)  # not left waiting on the failed worker's lease
    assert (await asyncio.wait_for(other.tokens.get(), 5)).startswith("LOCAL_")
    await api.close()
    await other.close()


async def test_the_token_never_reaches_the_log(db, local_wechat, capsys):
    configure_logging("DEBUG", as_json=True)
    try:
        api = make_api(db, local_wechat.base_url)
        token = await api.tokens.get()
        local_wechat.invalidate_tokens()
        await api.send_custom_message({"touser": "o1", "msgtype": "text", "text": {"content": "你好"}})
        local_wechat.fail_next("/cgi-bin/message/custom/send", 45011, "api minute-quota reach limit")
        with pytest.raises(WeChatApiError):
            await api.send_custom_message({"touser": "o1", "msgtype": "text", "text": {"content": "你好"}})
        await api.close()
    finally:
        configure_logging("INFO", as_json=False)
    log = capsys.readouterr().err
    assert "access token" in log  # the events are logged …
    assert token not in log and "LOCAL_" not in log and "access_token=" not in log  # … the token is not
