"""The application status flow on both databases: the table itself, ``record_status`` refusing
what it forbids without writing anything, event ids per application, resends (also two at once),
and the console workbench obeying the same table."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from assistant.catalog import CatalogService
from smartform.applications import ApplicationService
from smartform.approval import ACTIONS, Workbench, WorkbenchError
from smartform.review import PreReview
from smartform.status_flow import DECIDED, FINAL, STATUSES, TRANSITIONS, InvalidTransition
from store.outbox import Outbox
from store.tables.applications import application_events, applications, approval_queue
from store.tables.identity import users
from store.tables.messages import user_messages
from web.errors import status_of


def test_the_table_covers_every_status_and_decisions_stand():
    assert set(TRANSITIONS) == set(STATUSES) and all(after <= set(STATUSES) for after in TRANSITIONS.values())
    assert FINAL == {"rejected", "certificate_issued"} and DECIDED == FINAL | {"approved"}
    assert TRANSITIONS["approved"] == {"certificate_issued"}
    # nothing leads back to where an application starts, and no decided status is left for an open one
    assert [s for s, after in TRANSITIONS.items() if "submitted" in after] == ["submitted"]
    # the workbench's buttons are the table's transitions, a repeat of the same status aside
    assert {name: sorted(a.allowed_from) for name, a in ACTIONS.items()} == {
        "accept": ["submitted", "supplement_requested"],
        "supplement": ["accepted", "in_review", "submitted"],
        "approve": ["accepted", "in_review"],
        "reject": ["accepted", "in_review", "submitted", "supplement_requested"]}


async def setup(db, audit, *numbers: str) -> tuple[ApplicationService, Workbench]:  # type: ignore[no-untyped-def]
    service = ApplicationService(db, Outbox(db, audit), CatalogService(db, audit), None, PreReview())  # type: ignore[arg-type]
    bench = Workbench(db, service, audit)
    now = datetime.now(UTC)
    async with db.transaction() as conn:
        await conn.execute(users.insert().values(id="u1", openid="o-flow", created_at=now))
        for n, number in enumerate(numbers):
            await conn.execute(applications.insert().values(
                number=number, draft_id=f"d{n}", user_id="u1", item_code="CD-0053", item_name="个体工商户设立登记",
                item_version=1, form_version=1, data={}, attachments=[], status="submitted", submitted_at=now,
                updated_at=now))
    for number in numbers:
        await bench.deliver(await service.handoff_payload(number), f"approval:{number}")
    return service, bench


async def written(db, number: str) -> tuple[str, int, int, str]:  # type: ignore[no-untyped-def]
    """The status, timeline entries, messages and workbench queue status of one application."""
    async with db.read() as conn:
        status = (await conn.execute(sa.select(applications.c.status).where(applications.c.number == number))).scalar()
        events = (await conn.execute(sa.select(sa.func.count()).select_from(application_events)
                                     .where(application_events.c.number == number))).scalar()
        messages = (await conn.execute(sa.select(sa.func.count()).select_from(user_messages)
                                       .where(user_messages.c.ref == number))).scalar()
        queued = (await conn.execute(sa.select(approval_queue.c.status)
                                     .where(approval_queue.c.number == number))).scalar()
    return status, events, messages, queued


async def test_a_forbidden_change_raises_and_writes_nothing(db, audit):
    service, _ = await setup(db, audit, "SQ20261204000101")
    number = "SQ20261204000101"
    for n, status in enumerate(["accepted", "approved", "certificate_issued"]):
        assert await service.record_status(number, status, event_id=f"e{n}", note=None, source="approval") is True
    before = await written(db, number)
    for status in STATUSES:
        with pytest.raises(InvalidTransition) as refused:
            await service.record_status(number, status, event_id=f"late-{status}", note=None, source="approval")
        assert (refused.value.code, refused.value.current, refused.value.requested) == \
            ("invalid_transition", "certificate_issued", status)
    assert await written(db, number) == before
    # a resend of an event it already has is still the quiet no-op it always was
    assert await service.record_status(number, "accepted", event_id="e0", note=None, source="approval") is False


async def test_the_same_event_id_on_two_applications_is_two_events(db, audit):
    service, _ = await setup(db, audit, "SQ20261204000201", "SQ20261204000202")
    for number in ("SQ20261204000201", "SQ20261204000202"):
        assert await service.record_status(number, "accepted", event_id="1", note=None, source="approval") is True
        assert (await written(db, number))[:3] == ("accepted", 1, 1)


async def test_one_event_sent_twice_at_once_is_recorded_once(db, audit):
    service, _ = await setup(db, audit, "SQ20261204000301")
    results = await asyncio.gather(*(service.record_status("SQ20261204000301", "accepted", event_id="dup", note=None,
                                                           source="approval") for _ in range(3)))
    assert sorted(results) == [False, False, True]
    assert (await written(db, "SQ20261204000301"))[:3] == ("accepted", 1, 1)


async def test_the_workbench_goes_through_the_same_table(db, audit):
    service, bench = await setup(db, audit, "SQ20261204000401", "SQ20261204000402")
    number = "SQ20261204000401"
    assert await bench.act(number, "accept", "", "sun.approver") == "accepted"
    # the back end (or anyone) issued the certificate meanwhile: the workbench cannot undo it either
    assert await service.record_status(number, "certificate_issued", event_id="ext-1", note=None, source="approval")
    before = await written(db, number)
    with pytest.raises(WorkbenchError) as refused:
        await bench.decide(number, "submitted", None, "sun.approver")
    assert (status_of(refused.value.code), refused.value.code) == (409, "invalid_transition")
    with pytest.raises(WorkbenchError) as decided:
        await bench.act(number, "reject", "迟到的决定", "sun.approver")
    assert decided.value.code == "already_decided"
    assert await written(db, number) == before and (await bench.case(number))["actions"] == []
    # what the table allows, decide records, in the queue too
    assert await bench.decide("SQ20261204000402", "in_review", "转交住建部门", "sun.approver") is True
    assert await written(db, "SQ20261204000402") == ("in_review", 1, 1, "in_review")
    with pytest.raises(WorkbenchError):
        await bench.decide("SQ20261204000402", "accepted", None, "sun.approver")  # back a step
