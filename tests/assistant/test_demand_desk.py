"""12345 tickets on both databases: staff handling (filters, one step forward at a time, never back
or skipping, audited with the note); a ticket heard about only by who filed it; numbers nobody can
guess; personal numbers masked in what is stored and shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from assistant.demands import DemandDesk, DemandError, DemandService, new_ticket_number
from intents.demand_router import Route
from intents.slots import TICKET_NUMBER, RegionTable
from server import DEMO_DIR
from store.tables.dialogue import demand_tickets
from web.errors import status_of


async def add_tickets(db) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    async with db.transaction() as conn:
        await conn.execute(demand_tickets.insert(), [
            dict(number=f"12345260501{n:06d}", created_at=now + timedelta(minutes=n), updated_at=now,
                 session_key="miniapp:secret", channel="miniapp", category=category, category_confidence=0.8,
                 district="锦江区", summary=f"诉求{n}", text=f"诉求内容{n}", contact_consent=True, status=status)
            for n, (category, status) in enumerate([("城乡建设", "received"), ("劳动社保", "received"),
                                                    ("城乡建设", "closed")])])


async def test_tickets_move_forward_one_step_at_a_time(db, audit):
    await add_tickets(db)
    desk = DemandDesk(db, audit)
    rows, total = await desk.tickets(category="城乡建设")
    assert total == 2 and [r["number"] for r in rows] == ["12345260501000002", "12345260501000000"]
    assert "session_key" not in rows[0] and rows[1]["next"] == "assigned" and rows[0]["next"] is None
    assert (await desk.tickets(status="received"))[1] == 2
    assert await desk.categories() == sorted(["城乡建设", "劳动社保"])

    number = "12345260501000000"
    with pytest.raises(DemandError) as skipped:
        await desk.advance(number, "replied", "", "sun.approver")
    assert skipped.value.code == "wrong_transition" and "已转交承办部门" in str(skipped.value)
    assert (await desk.advance(number, "assigned", "第assigned步", "sun.approver")).status == "assigned"
    with pytest.raises(DemandError) as silent:  # a reply must say what the department answered
        await desk.advance(number, "replied", "  ", "sun.approver")
    assert silent.value.code == "reply_required"
    assert (await desk.advance(number, "replied", "第replied步", "sun.approver")).reply == "第replied步"
    assert (await desk.advance(number, "closed", "第closed步", "sun.approver")).status == "closed"
    shown = await DemandService(db, None, None).get(number, session_key="miniapp:secret")  # the citizen's "查询工单"
    assert (shown.status, shown.reply) == ("closed", "第replied步")
    with pytest.raises(DemandError) as back:
        await desk.advance(number, "assigned", "", "sun.approver")
    assert back.value.code == "wrong_transition" and "已办结" in str(back.value)
    with pytest.raises(DemandError) as unknown:
        await desk.advance(number, "lost", "", "sun.approver")
    assert status_of(unknown.value.code) == 400
    with pytest.raises(DemandError) as missing:
        await desk.advance("12345000000000000", "assigned", "", "sun.approver")
    assert status_of(missing.value.code) == 404
    entries = await audit.entries(target_type="demand_ticket", target_id=number)
    assert [(e["before"]["status"], e["after"]["status"], e["details"]) for e in reversed(entries)] == [
        ("received", "assigned", {"note": "第assigned步"}), ("assigned", "replied", {"note": "第replied步"}),
        ("replied", "closed", {"note": "第closed步"})]


def intake(db) -> DemandService:  # type: ignore[no-untyped-def]
    return DemandService(db, None, RegionTable.load(DEMO_DIR / "regions" / "chengdu.yaml"))  # type: ignore[arg-type]


COMPLAINT = ("锦江区某小区电梯坏了半个月没人修。我叫王五，身份证5101 8119 8407 0468 45，"
             "电话+86 139-0000-1111，也可以打１３８００００６３３６")


async def test_a_ticket_is_heard_about_only_by_who_filed_it(db):
    service = intake(db)
    route = Route("城乡建设", 0.9)
    signed_in = await service.create("miniapp:phone-session", "miniapp", COMPLAINT, user_id="u-1001", route=route)
    anonymous = await service.create("wechat:o_follower", "wechat", "噪音扰民，请处理", route=route)

    # the session that filed it, and the signed-in filer from any of their sessions
    assert (await service.get(signed_in.number, session_key="miniapp:phone-session")).number == signed_in.number
    assert (await service.get(signed_in.number, session_key="miniapp:tablet", user_id="u-1001")).user_id == "u-1001"
    assert (await service.get(anonymous.number, session_key="wechat:o_follower")).category == "城乡建设"
    # anyone else: nothing, as for a number that does not exist
    assert await service.get(signed_in.number, session_key="miniapp:attacker") is None
    assert await service.get(signed_in.number, session_key="miniapp:attacker", user_id="u-2002") is None
    assert await service.get(anonymous.number, session_key="wechat:o_other", user_id="u-1001") is None
    assert await service.get("123452612040000000000000000", session_key="miniapp:phone-session") is None


async def test_ticket_numbers_carry_sixteen_secure_random_digits(db):
    service = intake(db)
    ticket = await service.create("miniapp:s", "miniapp", "路灯坏了", route=Route("城乡建设", 0.9))
    assert TICKET_NUMBER.fullmatch(ticket.number) and len(ticket.number) == 5 + 6 + 16
    assert ticket.number.startswith(f"12345{ticket.created_at:%y%m%d}")
    made = {new_ticket_number(ticket.created_at) for _ in range(2000)}
    assert len(made) == 2000 and all(TICKET_NUMBER.fullmatch(n) for n in made)
    assert len({n[11:13] for n in made}) > 50  # the random part varies from its first digit on


async def test_personal_numbers_are_masked_in_the_ticket_and_the_departments_reply(db, audit):
    service = intake(db)
    ticket = await service.create("miniapp:s", "miniapp", COMPLAINT, route=Route("城乡建设", 0.9))
    async with db.read() as conn:
        stored = (await conn.execute(sa.select(demand_tickets)
                                     .where(demand_tickets.c.number == ticket.number))).one()
    for raw in ("5101 8119 8407 0468 45", "139-0000-1111", "１３８００００６３３６", "13800006336"):
        assert raw not in stored.text and raw not in stored.summary
    assert "5101**********6845" in stored.text and "+86 139****1111" in stored.text and "138****6336" in stored.text
    assert stored.summary == stored.text.replace("\n", " ")[:60]

    desk = DemandDesk(db, audit)
    await desk.advance(ticket.number, "assigned", "", "sun.approver")
    replied = await desk.advance(ticket.number, "replied", "已联系王先生（138-0000-6336）并安排维修", "sun.approver")
    assert replied.reply == "已联系王先生（138****6336）并安排维修"
    async with db.read() as conn:
        stored_reply = (await conn.execute(sa.select(demand_tickets.c.reply)
                                           .where(demand_tickets.c.number == ticket.number))).scalar_one()
    assert stored_reply == "已联系王先生（138****6336）并安排维修"
    assert (await service.get(ticket.number, session_key="miniapp:s")).reply == stored_reply
    notes = [e["details"] for e in await audit.entries(target_type="demand_ticket", target_id=ticket.number)]
    assert {"note": "已联系王先生（138****6336）并安排维修"} in notes and "138-0000" not in str(notes)


async def test_tickets_stored_before_masking_knew_a_format_are_masked_when_shown(db):
    await add_tickets(db)
    async with db.transaction() as conn:
        await conn.execute(demand_tickets.update().where(demand_tickets.c.number == "12345260501000000").values(
            summary="请回电138-0000-6336", text="请回电138-0000-6336，身份证5101 8119 8407 0468 45",
            status="replied", reply="已电话联系 +86 139-0000-1111"))
    rows, _ = await DemandDesk(db).tickets()
    [row] = [r for r in rows if r["number"] == "12345260501000000"]
    assert (row["summary"], row["text"]) == ("请回电138****6336", "请回电138****6336，身份证5101**********6845")
    shown = await intake(db).get("12345260501000000", session_key="miniapp:secret")
    assert (shown.summary, shown.reply) == ("请回电138****6336", "已电话联系 +86 139****1111")
