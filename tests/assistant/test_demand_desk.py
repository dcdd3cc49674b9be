"""Staff handling of 12345 tickets on both databases: filters, one step forward at a time, never
back or skipping, audited with the note."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from assistant.demands import DemandDesk, DemandError, DemandService
from store.tables import demand_tickets


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
    shown = await DemandService(db, None, None).get(number)  # what the citizen's "查询工单" reads
    assert (shown.status, shown.reply) == ("closed", "第replied步")
    with pytest.raises(DemandError) as back:
        await desk.advance(number, "assigned", "", "sun.approver")
    assert back.value.code == "wrong_transition" and "已办结" in str(back.value)
    with pytest.raises(DemandError) as unknown:
        await desk.advance(number, "lost", "", "sun.approver")
    assert unknown.value.status == 400
    with pytest.raises(DemandError) as missing:
        await desk.advance("12345000000000000", "assigned", "", "sun.approver")
    assert missing.value.status == 404
    entries = await audit.entries(target_type="demand_ticket", target_id=number)
    assert [(e["before"]["status"], e["after"]["status"], e["details"]) for e in reversed(entries)] == [
        ("received", "assigned", {"note": "第assigned步"}), ("assigned", "replied", {"note": "第replied步"}),
        ("replied", "closed", {"note": "第closed步"})]
