"""Outbound messages through the outbox: the customer-service window and quota, rate limits,
refusals, a WeChat that is down, and every attempt recorded."""

from __future__ import annotations

from functools import partial

import pytest
import sqlalchemy as sa

from store.outbox import Outbox, OutboxWorker
from store.tables.base import utcnow
from store.tables.outbox import outbox_jobs
from tests.wechat.local_wechat import APPID, SECRET
from wechat.api import WeChatApi
from wechat.senders import WeChatSenders
from wechat.tokens import AccessTokenManager

CUSTOM_SEND = "/cgi-bin/message/custom/send"


@pytest.fixture
async def senders(db, audit, local_wechat):
    api = WeChatApi(local_wechat.base_url, APPID, SECRET, tokens=partial(AccessTokenManager, db))
    yield WeChatSenders(db, Outbox(db, audit, backoff_base_seconds=30), api)
    await api.close()


async def deliver(senders: WeChatSenders) -> None:
    await OutboxWorker(senders.outbox, senders.handlers(), lease_seconds=10).run_once()


async def jobs(db) -> list:
    async with db.read() as conn:
        return list(await conn.execute(sa.select(outbox_jobs).order_by(outbox_jobs.c.id)))


async def enqueue_texts(db, senders: WeChatSenders, openid: str, count: int, prefix: str) -> None:
    async with db.transaction() as conn:
        for n in range(count):
            await senders.enqueue_custom(conn, openid, f"第{n + 1}条", f"{prefix}-{n}")


async def test_no_customer_service_message_outside_the_window(db, senders, local_wechat):
    await enqueue_texts(db, senders, "o_never_wrote", 1, "cold")
    await deliver(senders)
    [job] = await jobs(db)
    assert job.status == "dead" and "window" in job.last_error  # visible to staff, not retried
    assert local_wechat.calls(CUSTOM_SEND) == []
    [send] = await senders.sends("cold-0")
    assert send["outcome"] == "refused"


async def test_a_message_allows_five_and_a_click_three(db, senders, local_wechat):
    async with db.transaction() as conn:
        await senders.record_interaction(conn, "o_writer", "message")
        await senders.record_interaction(conn, "o_clicker", "event")
    await enqueue_texts(db, senders, "o_writer", 6, "w")
    await enqueue_texts(db, senders, "o_clicker", 4, "c")
    await deliver(senders)
    sent = local_wechat.calls(CUSTOM_SEND)
    assert sum(1 for s in sent if s.body["touser"] == "o_writer") == 5
    assert sum(1 for s in sent if s.body["touser"] == "o_clicker") == 3
    assert sorted(j.status for j in await jobs(db)) == ["dead"] * 2 + ["done"] * 8
    # a new message renews the quota (it does not add to it)
    async with db.transaction() as conn:
        await senders.record_interaction(conn, "o_writer", "message")
    await senders.outbox.retry_dead(next(j.id for j in await jobs(db) if j.status == "dead" and j.payload["touser"] == "o_writer"), "staff")
    await deliver(senders)
    assert sum(1 for s in local_wechat.calls(CUSTOM_SEND) if s.body["touser"] == "o_writer") == 6


async def test_rate_limits_wait_and_refusals_stop(db, senders, local_wechat):
    async with db.transaction() as conn:
        await senders.record_interaction(conn, "o_busy", "message")
    await enqueue_texts(db, senders, "o_busy", 1, "limited")
    local_wechat.fail_next(CUSTOM_SEND, 45011, "api minute-quota reach limit")
    before = utcnow()
    await deliver(senders)
    [job] = await jobs(db)
    assert job.status == "pending" and 55 <= (job.next_attempt_at - before).total_seconds() <= 65
    assert [s["outcome"] for s in await senders.sends("limited-0")] == ["retry"]

    await enqueue_texts(db, senders, "o_busy", 1, "gone")
    local_wechat.fail_next(CUSTOM_SEND, 43004, "require subscribe")
    await deliver(senders)
    gone = next(j for j in await jobs(db) if j.idempotency_key == "gone-0")
    assert gone.status == "dead" and "43004" in gone.last_error
    async with db.read() as conn:  # attempts WeChat did not accept do not use up the quota
        left = (await conn.execute(sa.text("SELECT service_quota_left FROM wechat_users WHERE openid = 'o_busy'"))).scalar()
    assert left == 5


async def test_a_wechat_that_is_down_is_retried_with_backoff(db, audit):
    # nothing listens on port 9
    api = WeChatApi("http://127.0.0.1:9", APPID, SECRET, timeout_seconds=1, tokens=partial(AccessTokenManager, db))
    senders = WeChatSenders(db, Outbox(db, audit, backoff_base_seconds=30), api)
    async with db.transaction() as conn:
        await senders.record_interaction(conn, "o_patient", "message")
    await enqueue_texts(db, senders, "o_patient", 1, "down")
    await deliver(senders)
    [job] = await jobs(db)
    assert job.status == "pending" and job.attempts == 1 and "WeChatUnreachable" in job.last_error
    assert [s["outcome"] for s in await senders.sends("down-0")] == ["retry"]
    await api.close()


async def test_template_and_subscribe_messages(db, senders, local_wechat):
    async with db.transaction() as conn:
        await senders.enqueue_template(conn, "o_applicant", "TPL_PROGRESS", {"first": "您的申请已受理", "keyword1": "SQ20261122000001"},
                                       "tpl-1", url="https://example.org/progress")
        await senders.enqueue_subscribe(conn, "o_applicant", "SUB_RESULT", {"thing1": "结婚登记", "phrase2": "已办结"},
                                        "sub-1", page="pages/progress/index")
        await senders.enqueue_template(conn, "o_applicant", "", {"first": "x"}, "tpl-bad")
    await deliver(senders)
    [template] = local_wechat.calls("/cgi-bin/message/template/send")[:1]
    assert template.body["data"]["keyword1"] == {"value": "SQ20261122000001"}
    assert template.body["url"] == "https://example.org/progress"
    [subscribe] = local_wechat.calls("/cgi-bin/message/subscribe/send")
    assert subscribe.body["page"] == "pages/progress/index" and subscribe.body["template_id"] == "SUB_RESULT"
    outcomes = {s["idempotency_key"]: (s["kind"], s["outcome"]) for s in await senders.sends()}
    assert outcomes == {"tpl-1": ("template", "sent"), "sub-1": ("subscribe", "sent"), "tpl-bad": ("template", "refused")}
