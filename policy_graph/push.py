"""Push planning (精准推送): turns a refresh's new verdicts into messages, and sends nothing itself.

- A verdict that became **true** is pushed once per enterprise and item, ever: to each user bound
  to the enterprise, in the message centre, and as a subscribe message (an outbox job) when the
  user holds a ``policy_match`` subscribe consent (a one-time consent is used up) and has not
  opted out. During quiet hours (22:00–08:00 China time) the job waits until they end.
- A verdict that became **unknown** is not pushed: the bound users get one "请补充信息" entry in
  the message centre, naming what to supply.
Everything is written in one transaction, so a crash leaves either the whole plan or none of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from china_time import CHINA, today
from policy_graph.graph import NodeVersion
from store.database import Database
from store.tables.base import utcnow
from store.tables.identity import users
from store.tables.messages import subscriptions, user_messages
from store.tables.policy_graph import policy_push_optouts, policy_pushes

log = logging.getLogger(__name__)
SCENE = "policy_match"
QUIET_FROM, QUIET_UNTIL = 22, 8  # China time, hours


def quiet_delay(now: datetime) -> float:
    """Seconds until quiet hours end; 0 outside them."""
    local = now.astimezone(CHINA)
    if QUIET_UNTIL <= local.hour < QUIET_FROM:
        return 0.0
    wake = local.replace(hour=QUIET_UNTIL, minute=0, second=0, microsecond=0)
    if local.hour >= QUIET_FROM:
        wake += timedelta(days=1)
    return (wake - local).total_seconds()


@dataclass
class PushPlan:
    pushed: list[tuple[str, str]] = field(default_factory=list)  # (item, uscc) with at least one message queued
    told_only: list[tuple[str, str]] = field(default_factory=list)  # message centre only (no consent / opted out)
    prompted: list[tuple[str, str]] = field(default_factory=list)  # asked to supply facts
    already: int = 0  # pairs that had been handled before
    unbound: int = 0  # enterprises nobody acts for

    def to_json(self) -> dict[str, Any]:
        return {"pushed": len(self.pushed), "told_only": len(self.told_only), "prompted": len(self.prompted),
                "already": self.already, "unbound": self.unbound}


async def refresh_and_push(matches: Any, planner: PushPlanner, as_of: Any) -> dict[str, Any]:
    """One round: recompute what changed, then plan pushes and prompts for the new verdicts."""
    refresh = await matches.refresh(as_of)
    report = refresh.to_json()
    if refresh.became_true or refresh.became_unknown:
        items = {i: v for i, (v, _) in (await matches.graph.published_items(as_of)).items()}
        bound = await planner.bound_enterprises()
        to_supply = {}
        for item_id, uscc in refresh.became_unknown:
            if uscc in bound:  # only those someone will read
                explanation = await matches.explain(item_id, uscc, as_of)
                to_supply[(item_id, uscc)] = [s["label"] for s in explanation.to_supply] if explanation else []
        report["push"] = (await planner.plan(refresh.became_true, refresh.became_unknown, items, to_supply)).to_json()
    return report


async def refresh_forever(matches: Any, planner: PushPlanner, interval_seconds: float,
                          wake: asyncio.Event | None = None) -> None:
    """The in-server loop: a round now, then every ``interval_seconds``, or at once when ``wake``
    is set (staff published or retired an item; facts were loaded). A round that fails (a
    database hiccup, another worker refreshing the same pairs at once) is logged and the next
    round reconciles: verdicts are stored with what they were computed from, and each push is
    claimed once by its key."""
    while True:
        try:
            report = await refresh_and_push(matches, planner, today())
            if report.get("changed"):
                log.info("policy matches refreshed: %s", report)
        except Exception:  # noqa: BLE001 (the loop must outlive one bad round)
            log.exception("policy refresh failed; retrying in %s s", interval_seconds)
        if wake is None:
            await asyncio.sleep(interval_seconds)
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), interval_seconds)
        wake.clear()


class PushPlanner:
    def __init__(self, db: Database, senders: Any, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.senders = senders  # wechat senders, or None when WeChat is not configured
        self.clock = clock

    async def bound_enterprises(self) -> set[str]:
        async with self.db.read() as conn:
            return set((await conn.execute(sa.select(users.c.uscc).where(users.c.uscc.is_not(None)))).scalars())

    async def opt_out(self, user_id: str, out: bool = True) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(policy_push_optouts.delete().where(policy_push_optouts.c.user_id == user_id))
            if out:
                await conn.execute(policy_push_optouts.insert().values(user_id=user_id, at=self.clock()))

    async def plan(self, became_true: list[tuple[str, str]], became_unknown: list[tuple[str, str]],
                   items: dict[str, NodeVersion], to_supply: dict[tuple[str, str], list[str]] | None = None) -> PushPlan:
        plan, now = PushPlan(), self.clock()
        async with self.db.transaction() as conn:
            for kind, pairs in (("push", became_true), ("prompt", became_unknown)):
                for item_id, uscc in pairs:
                    bound = (await conn.execute(sa.select(users.c.id, users.c.openid).where(users.c.uscc == uscc))).all()
                    if not bound:
                        plan.unbound += 1
                        continue
                    if not await self._claim(conn, uscc, item_id, kind, now):
                        plan.already += 1
                        continue
                    version = items[item_id]
                    if kind == "prompt":
                        missing = "、".join((to_supply or {}).get((item_id, uscc), [])) or "相关信息"
                        for user_id, _ in bound:
                            await self._tell(conn, user_id, f"请补充信息：{version.name}"[:100],
                                             f"补充{missing}后，即可判断贵单位能否享受“{version.name}”。", item_id, now)
                        plan.prompted.append((item_id, uscc))
                        continue
                    queued = 0
                    for user_id, openid in bound:
                        await self._tell(conn, user_id, f"您的企业可享受：{version.name}"[:100],
                                         str(version.data.get("benefit", ""))[:900], item_id, now)
                        queued += await self._queue(conn, user_id, openid, uscc, version, now)
                    (plan.pushed if queued else plan.told_only).append((item_id, uscc))
                    await conn.execute(policy_pushes.update().where(
                        policy_pushes.c.uscc == uscc, policy_pushes.c.item_id == item_id, policy_pushes.c.kind == kind)
                        .values(outcome=f"{len(bound)} users told, {queued} subscribe messages queued"))
        return plan

    async def _claim(self, conn: AsyncConnection, uscc: str, item_id: str, kind: str, now: datetime) -> bool:
        exists = (await conn.execute(sa.select(policy_pushes.c.uscc).where(
            policy_pushes.c.uscc == uscc, policy_pushes.c.item_id == item_id, policy_pushes.c.kind == kind))).first()
        if exists:
            return False
        await conn.execute(policy_pushes.insert().values(uscc=uscc, item_id=item_id, kind=kind, created_at=now,
                                                         outcome="planned"))
        return True

    async def _tell(self, conn: AsyncConnection, user_id: str, title: str, body: str, ref: str, now: datetime) -> None:
        await conn.execute(user_messages.insert().values(user_id=user_id, kind="policy_match", title=title,
                                                         body=body, ref=ref[:64], created_at=now))

    async def _queue(self, conn: AsyncConnection, user_id: str, openid: str | None, uscc: str, version: NodeVersion,
                     now: datetime) -> int:
        if self.senders is None or not openid:
            return 0
        if (await conn.execute(sa.select(policy_push_optouts.c.user_id).where(
                policy_push_optouts.c.user_id == user_id))).first():
            return 0
        consent = (await conn.execute(sa.select(subscriptions).where(
            subscriptions.c.user_id == user_id, subscriptions.c.scene == SCENE, subscriptions.c.remaining > 0)
            .order_by(subscriptions.c.long_term, subscriptions.c.id).limit(1))).first()
        if consent is None:
            return 0
        if not consent.long_term:  # a one-time consent is used up by this message
            await conn.execute(subscriptions.update().where(subscriptions.c.id == consent.id)
                               .values(remaining=subscriptions.c.remaining - 1))
        item = version.node_id.removeprefix("item:")
        await self.senders.enqueue_subscribe(  # with the template the user accepted
            conn, openid, consent.template_id,
            {"thing1": version.name[:20], "thing2": str(version.data.get("benefit", ""))[:20],
             "phrase3": str(version.data.get("delivery", ""))[:5]},
            f"policy:{uscc}:{version.node_id}:{user_id}", page=f"pages/policies/detail?id={item}",
            delay_seconds=quiet_delay(now))
        return 1
