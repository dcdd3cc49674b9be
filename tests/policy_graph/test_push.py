"""Push planning: new true verdicts reach the enterprise's bound users once ever, as subscribe
messages where they consented (quota used, quiet hours respected, opt-out honoured) and in the
message centre; unknown verdicts become a prompt to supply facts, never a push."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from policy_graph.graph import NodeVersion
from policy_graph.push import PushPlanner, quiet_delay
from smartform.messages import Subscriptions
from store.outbox import Outbox
from store.tables.identity import users
from store.tables.messages import subscriptions, user_messages
from store.tables.outbox import outbox_jobs
from wechat.senders import WeChatSenders

FIRM, LONELY = "91510107MA6C5XJ01K", "91510100MA61234567"
ITEM = NodeVersion("item:cd-award", "item", 1, "published", "首次认定高新技术企业奖励",
                   {"benefit": "一次性奖励 30 万元", "delivery": "免申即享"}, [], None, None, None, 1, "e", "r", None)
NOON = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)  # 12:00 in China
NIGHT = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)  # 23:30 in China


async def bind(db, user_id: str, openid: str, uscc: str) -> None:  # type: ignore[no-untyped-def]
    async with db.transaction() as conn:
        await conn.execute(users.insert().values(id=user_id, openid=openid, created_at=NOON, uscc=uscc,
                                                 enterprise_role="经办人"))


def test_quiet_hours_hold_messages_until_eight():
    assert quiet_delay(NOON) == 0
    assert quiet_delay(NIGHT) == 8.5 * 3600
    assert quiet_delay(datetime(2026, 12, 1, 23, 0, tzinfo=UTC)) == 1 * 3600  # 07:00 in China


async def test_a_true_verdict_is_pushed_once_to_consenting_users_and_an_unknown_one_prompts(db, audit):
    outbox = Outbox(db, audit)
    senders = WeChatSenders(db, outbox, api=None)  # type: ignore[arg-type]  (planning sends nothing)
    await bind(db, "u1", "o_u1", FIRM)
    await bind(db, "u2", "o_u2", FIRM)
    await bind(db, "u3", "o_u3", FIRM)
    await Subscriptions(db).add("u1", "TPL_POLICY", "policy_match", False, 1)
    await Subscriptions(db).add("u3", "TPL_POLICY", "policy_match", True, 1)
    planner = PushPlanner(db, senders, clock=lambda: NIGHT)
    await planner.opt_out("u3")

    plan = await planner.plan([("item:cd-award", FIRM), ("item:cd-award", LONELY)], [("item:cd-award", "x")],
                              {"item:cd-award": ITEM})
    assert plan.pushed == [("item:cd-award", FIRM)] and plan.unbound == 2
    async with db.read() as conn:
        jobs = (await conn.execute(sa.select(outbox_jobs))).all()
        assert [j.payload["touser"] for j in jobs] == ["o_u1"]  # u2 has no consent, u3 opted out
        assert jobs[0].payload["template_id"] == "TPL_POLICY"
        assert (jobs[0].next_attempt_at - NIGHT).total_seconds() >= 8.5 * 3600 - 1  # after quiet hours
        told = (await conn.execute(sa.select(user_messages.c.user_id).where(user_messages.c.kind == "policy_match"))).scalars().all()
        assert sorted(told) == ["u1", "u2", "u3"]  # everyone bound sees it in the message centre
        assert (await conn.execute(sa.select(subscriptions.c.remaining).where(subscriptions.c.user_id == "u1"))).scalar() == 0

    again = await planner.plan([("item:cd-award", FIRM)], [], {"item:cd-award": ITEM})
    assert again.already == 1 and again.pushed == []  # never the same item to the same enterprise twice

    prompt = await planner.plan([], [("item:cd-award", FIRM)], {"item:cd-award": ITEM},
                                {("item:cd-award", FIRM): ["上年度营业收入"]})
    assert prompt.prompted == [("item:cd-award", FIRM)]
    async with db.read() as conn:
        assert len((await conn.execute(sa.select(outbox_jobs))).all()) == 1  # a prompt is not a push
        bodies = (await conn.execute(sa.select(user_messages.c.body).where(
            user_messages.c.title.like("请补充信息%")))).scalars().all()
        assert len(bodies) == 3 and "上年度营业收入" in bodies[0]


async def test_a_published_item_reaches_a_bound_enterprise_through_one_refresh_round(service, db, audit):
    from policy_graph.push import refresh_and_push
    from tests.helpers import AS_OF, FIRM_A, FIRM_B, HIGH_TECH, publish

    matches, curation, _ = service
    await bind(db, "boss-a", "o_a", FIRM_A)
    await bind(db, "boss-b", "o_b", FIRM_B)
    await Subscriptions(db).add("boss-a", "TPL_POLICY", "policy_match", False, 2)
    planner = PushPlanner(db, WeChatSenders(db, Outbox(db, audit), api=None), clock=lambda: NOON)  # type: ignore[arg-type]
    await publish(curation, "item:cd-hightech-first", HIGH_TECH)
    report = await refresh_and_push(matches, planner, AS_OF)
    assert report["push"] == {"pushed": 1, "told_only": 0, "prompted": 1, "already": 0, "unbound": 0}
    async with db.read() as conn:
        prompt = (await conn.execute(sa.select(user_messages.c.body).where(user_messages.c.user_id == "boss-b"))).scalar()
    assert "上年度营业收入" in prompt
    quiet = await refresh_and_push(matches, planner, AS_OF)  # nothing changed: nothing computed, nothing sent
    assert quiet["computed_pairs"] == 0 and "push" not in quiet
