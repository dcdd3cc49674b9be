"""The embedded approval workbench on both databases: each decision only from the statuses that
allow it, reasons where they are required, the citizen told, the decision audited, and two
approvers deciding at once deciding once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from assistant.catalog import CatalogService
from smartform.applications import ApplicationService
from smartform.approval import Workbench, WorkbenchError
from smartform.review import PreReview
from store.outbox import Outbox
from store.tables.applications import applications
from store.tables.identity import users
from store.tables.messages import user_messages
from web.errors import status_of


async def workbench_with(db, audit, *numbers: str) -> Workbench:  # type: ignore[no-untyped-def]
    service = ApplicationService(db, Outbox(db, audit), CatalogService(db, audit), None, PreReview())  # type: ignore[arg-type]
    bench = Workbench(db, service, audit)
    now = datetime.now(UTC)
    async with db.transaction() as conn:
        await conn.execute(users.insert().values(id="u1", openid="o-secret", created_at=now, name_masked="张*",
                                                 id_number_masked="5101**********1234", bound_at=now))
        for n, number in enumerate(numbers):
            await conn.execute(applications.insert().values(
                number=number, draft_id=f"d{n}", user_id="u1", item_code="CD-0053", item_name="个体工商户设立登记",
                item_version=1, form_version=1, data={"capital": "5"}, attachments=[], status="submitted",
                submitted_at=now - timedelta(hours=n), updated_at=now))
    for number in numbers:
        await bench.deliver(await service.handoff_payload(number), f"approval:{number}")
    return bench


async def test_accept_then_approve_reaches_the_citizen_and_the_audit_log(db, audit):
    bench = await workbench_with(db, audit, "SQ20260501000001", "SQ20260501000002")
    queue = await bench.queue()
    assert [q["number"] for q in queue] == ["SQ20260501000002", "SQ20260501000001"]  # oldest first
    assert queue[0]["applicant"] == "张* 5101**********1234" and "u1" not in str(queue)
    assert (await bench.case("SQ20260501000001"))["actions"] == ["accept", "supplement", "reject"]

    with pytest.raises(WorkbenchError) as early:
        await bench.act("SQ20260501000001", "approve", "", "sun.approver")
    assert early.value.code == "not_allowed_now" and "已提交" in str(early.value)
    assert await bench.act("SQ20260501000001", "accept", "", "sun.approver") == "accepted"
    assert await bench.act("SQ20260501000001", "approve", "", "sun.approver") == "approved"
    with pytest.raises(WorkbenchError) as again:
        await bench.act("SQ20260501000001", "reject", "重复", "sun.approver")
    assert status_of(again.value.code) == 409 and again.value.code == "already_decided"

    shown = await bench.applications.get("SQ20260501000001", owner="u1")
    assert [t["status"] for t in shown.timeline] == ["accepted", "approved"] and shown.status == "approved"
    assert [q["number"] for q in await bench.queue()] == ["SQ20260501000002"]  # decided: off the queue
    assert [w["number"] for w in await bench.waiting()] == ["SQ20260501000002"]
    entries = await audit.entries(target_type="application", target_id="SQ20260501000001")
    assert [(e["actor"], e["action"], e["before"], e["after"]) for e in reversed(entries)] == [
        ("sun.approver", "application.accept", {"status": "submitted"}, {"status": "accepted"}),
        ("sun.approver", "application.approve", {"status": "accepted"}, {"status": "approved"})]
    case = await bench.case("SQ20260501000001")
    assert case["actions"] == [] and [t["by"] for t in case["timeline"]] == ["sun.approver", "sun.approver"]
    # a report from elsewhere still goes through record_status, once per event
    service = bench.applications
    assert await service.record_status("SQ20260501000001", "certificate_issued", event_id="ext-1", note=None,
                                       source="approval") is True
    assert await service.record_status("SQ20260501000001", "certificate_issued", event_id="ext-1", note=None,
                                       source="approval") is False
    assert await service.record_status("SQ20260501009999", "accepted", event_id="ext-2", note=None,
                                       source="approval") is None


async def test_reasons_are_required_and_say_which_refusal_it_was(db, audit):
    bench = await workbench_with(db, audit, "SQ20260501000003")
    for action in ("reject", "supplement"):
        with pytest.raises(WorkbenchError) as missing:
            await bench.act("SQ20260501000003", action, "   ", "sun.approver")
        assert missing.value.code == "reason_required"
    with pytest.raises(WorkbenchError) as long:
        await bench.act("SQ20260501000003", "reject", "长" * 401, "sun.approver")
    assert long.value.code == "reason_too_long"
    with pytest.raises(WorkbenchError) as unknown:
        await bench.act("SQ20260501000099", "accept", "", "sun.approver")
    assert status_of(unknown.value.code) == 404
    await bench.act("SQ20260501000003", "supplement", "缺少租赁合同", "sun.approver")
    await bench.act("SQ20260501000003", "accept", "", "sun.approver")
    await bench.act("SQ20260501000003", "reject", "经营场所不符合规划", "sun.approver")
    timeline = (await bench.applications.get("SQ20260501000003")).timeline
    assert [(t["status"], t["note"]) for t in timeline] == [
        ("supplement_requested", "请补正：缺少租赁合同"), ("accepted", None),
        ("rejected", "不予批准。原因：经营场所不符合规划")]
    async with db.read() as conn:
        bodies = [r.body for r in await conn.execute(sa.select(user_messages).order_by(user_messages.c.id))]
    assert bodies[-1] == "您的“个体工商户设立登记”申请（SQ20260501000003）不予批准。说明：不予批准。原因：经营场所不符合规划"


async def test_two_approvers_at_once_decide_once(db, audit):
    bench = await workbench_with(db, audit, "SQ20260501000004")
    results = await asyncio.gather(*(bench.act("SQ20260501000004", "reject", f"原因{n}", f"staff{n}")
                                     for n in range(3)), return_exceptions=True)
    assert sum(1 for r in results if r == "rejected") == 1
    assert all(isinstance(r, WorkbenchError) and r.code == "already_decided" for r in results if r != "rejected")
    assert len((await bench.applications.get("SQ20260501000004")).timeline) == 1
