"""The approval back end's status callback over real HTTP, signed as the back end signs it: only the
changes the status flow allows, a decided application stays decided, event ids that name an event
within its application, resends that change nothing, and timestamps that are not Unix seconds in
the window refused with a clear answer instead of a server error."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from smartform.approval import signature
from smartform.status_flow import FINAL, STATUSES, TRANSITIONS
from store.tables.applications import application_events, applications
from store.tables.messages import user_messages
from tests.helpers import assert_error

SECRET = "callback-test-secret"
CALLBACK = "/api/v1/approval/callback"


@pytest.fixture
def test_settings(test_settings):
    return test_settings.with_overrides(approval_secret=SECRET)


def signed(body: dict, timestamp: str | None = None) -> tuple[bytes, dict[str, str]]:
    """The body and headers as the approval back end sends them, with a valid signature over
    whatever timestamp is given (by default: now)."""
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    return raw, {"X-Timestamp": timestamp, "X-Signature": signature(SECRET, timestamp, raw),
                 "Content-Type": "application/json"}


async def report(client, number: str, status: str, event_id: str, note: str | None = None):  # type: ignore[no-untyped-def]
    raw, headers = signed({"event_id": event_id, "application_no": number, "status": status, "note": note})
    return await client.post(CALLBACK, content=raw, headers=headers)


async def add_applications(app, *numbers: str) -> None:  # type: ignore[no-untyped-def]
    owner = await app.ctx.identities.user_for_openid("o_callback_owner")
    now = datetime.now(UTC)
    async with app.ctx.db.transaction() as conn:
        for n, number in enumerate(numbers):
            await conn.execute(applications.insert().values(
                number=number, draft_id=f"cb{n}", user_id=owner, item_code="CD-0053", item_name="个体工商户设立登记",
                item_version=1, form_version=1, data={}, attachments=[], status="submitted", submitted_at=now,
                updated_at=now))


async def state(app, number: str) -> tuple[str, list[tuple[str, str]], int]:  # type: ignore[no-untyped-def]
    """The application's status, its timeline (status, event id) and how many messages it sent."""
    async with app.ctx.db.read() as conn:
        status = (await conn.execute(sa.select(applications.c.status).where(applications.c.number == number))).scalar()
        events = [(e.status, e.event_id) for e in await conn.execute(
            sa.select(application_events).where(application_events.c.number == number)
            .order_by(application_events.c.id))]
        messages = (await conn.execute(sa.select(sa.func.count()).select_from(user_messages)
                                       .where(user_messages.c.ref == number))).scalar()
    return status, events, messages


async def test_an_issued_certificate_cannot_go_back_to_submitted(app, client, caplog):
    number = "SQ20261204000001"
    await add_applications(app, number)
    for n, status in enumerate(["accepted", "in_review", "approved", "certificate_issued"], start=1):
        answer = await report(client, number, status, f"evt-{n}")
        assert answer.status_code == 200 and answer.json() == {"recorded": True, "duplicate": False}, status
    before = await state(app, number)
    assert before[0] == "certificate_issued" and len(before[1]) == 4

    caplog.set_level(logging.WARNING)
    error = assert_error(await report(client, number, "submitted", "evt-attack", "重新提交"), 409, "invalid_transition")
    assert error["details"]["from"] == "certificate_issued" and error["details"]["to"] == "submitted"
    assert error["details"]["allowed"] == [] and "已出证" in error["message"]
    assert await state(app, number) == before  # no status, no timeline entry, no message
    assert any(r.levelno == logging.WARNING and number in r.getMessage() and "certificate_issued → submitted"
               in r.getMessage() for r in caplog.records)


async def test_final_statuses_are_final_and_a_decision_is_not_reopened(app, client):
    rejected, issued, approved = "SQ20261204000011", "SQ20261204000012", "SQ20261204000013"
    await add_applications(app, rejected, issued, approved)
    for number, path in ((rejected, ["rejected"]), (issued, ["accepted", "certificate_issued"]),
                         (approved, ["accepted", "approved"])):
        for step in path:
            assert (await report(client, number, step, f"{number}-{step}")).json()["recorded"] is True
    for number, final in ((rejected, "rejected"), (issued, "certificate_issued")):
        assert final in FINAL
        before = await state(app, number)
        for status in STATUSES:  # a final status is followed by nothing, not even itself
            error = assert_error(await report(client, number, status, f"late-{status}"), 409, "invalid_transition")
            assert (error["details"]["from"], error["details"]["to"]) == (final, status)
        assert await state(app, number) == before
    # approved: decided, only the certificate may follow
    before = await state(app, approved)
    for status in sorted(set(STATUSES) - {"certificate_issued"}):
        assert_error(await report(client, approved, status, f"late-{status}"), 409, "invalid_transition")
    assert await state(app, approved) == before
    assert (await report(client, approved, "certificate_issued", "issue")).json()["recorded"] is True
    assert (await state(app, approved))[0] == "certificate_issued"


async def test_stale_reports_do_not_move_an_application_back(app, client):
    number = "SQ20261204000021"
    await add_applications(app, number)
    assert (await report(client, number, "in_review", "2")).status_code == 200
    before = await state(app, number)
    # "accepted" came late (sent before "in_review", delivered after): the later status stands
    error = assert_error(await report(client, number, "accepted", "1"), 409, "invalid_transition")
    assert error["details"] == {"application_no": number, "from": "in_review", "to": "accepted",
                                "allowed": sorted(TRANSITIONS["in_review"])}
    assert_error(await report(client, number, "submitted", "0"), 409, "invalid_transition")
    assert await state(app, number) == before
    # a new note on the open step, and the allowed way on, are recorded
    assert (await report(client, number, "in_review", "3", "已转交住建部门")).json()["recorded"] is True
    assert (await report(client, number, "supplement_requested", "4", "补充租赁合同")).json()["recorded"] is True
    assert (await state(app, number))[0] == "supplement_requested"


async def test_event_ids_are_per_application_and_a_resend_changes_nothing(app, client):
    first, second = "SQ20261204000031", "SQ20261204000032"
    await add_applications(app, first, second)
    # a back end that numbers its events per application: event "1" for both
    for number in (first, second):
        assert (await report(client, number, "accepted", "1")).json() == {"recorded": True, "duplicate": False}
    assert (await state(app, first))[:2] == (await state(app, second))[:2] == ("accepted", [("accepted", "1")])

    assert (await report(client, first, "in_review", "2")).json()["recorded"] is True
    before = await state(app, first)
    # the same event again — right away, or after a later one: 200, nothing changes, no 409 either
    for _ in range(2):
        answer = await report(client, first, "accepted", "1")
        assert answer.status_code == 200 and answer.json() == {"recorded": False, "duplicate": True}
    assert await state(app, first) == before and before[0] == "in_review"
    assert (await state(app, second))[0] == "accepted"  # the other application's event "2" is still new
    assert (await report(client, second, "in_review", "2")).json()["recorded"] is True


BAD_TIMESTAMPS = [  # (what is sent, why it is refused); one app for all: each costs seconds to start
    ("9" * 400, "format"),  # was a 500: the int → float conversion overflowed
    ("1" * 12, "format"),
    ("abc", "format"),
    ("", "format"),  # no header at all
    ("-60", "format"),
    ("+1700000000", "format"),  # int() would take the sign
    ("1.7e9", "format"),
    ("１７００００００００", "format"),  # full-width digits: isdigit() says yes, they are not Unix seconds
    ("²", "format"),  # isdigit() says yes, int() refuses
    ("0", "out_of_window"),
    ("in ten years", "out_of_window"),
]


async def test_timestamps_that_are_not_unix_seconds_in_the_window_are_refused(app, client):
    number = "SQ20261204000041"
    await add_applications(app, number)
    for timestamp, problem in BAD_TIMESTAMPS:
        if timestamp == "in ten years":
            timestamp = str(int(time.time()) + 10 * 365 * 86400)
        # signed over the very timestamp sent: it is the timestamp that is refused, not the signature
        raw, headers = signed({"event_id": "t1", "application_no": number, "status": "accepted"}, timestamp)
        sent: dict[str, str | bytes] = {**headers, "X-Timestamp": timestamp.encode("utf-8")}  # as the bytes they are
        if not timestamp:
            del sent["X-Timestamp"]
        error = assert_error(await client.post(CALLBACK, content=raw, headers=sent), 401, "bad_timestamp")
        assert "Unix 时间戳（秒" in error["message"], timestamp[:20]
        assert error["details"] == {"header": "X-Timestamp", "problem": problem,
                                    "expected": "Unix 时间戳（秒，十进制整数）", "window_seconds": 300}, timestamp[:20]
    assert (await state(app, number))[0] == "submitted"
    # and the same report with a good timestamp goes through
    assert (await report(client, number, "accepted", "t1")).json()["recorded"] is True


async def test_a_report_time_off_the_calendar_is_bad_input(app, client):
    number = "SQ20261204000051"
    await add_applications(app, number)
    raw, headers = signed({"event_id": "at-1", "application_no": number, "status": "accepted",
                           "at": "0001-01-01T00:00:00"})  # China time: before year 1 in UTC
    assert_error(await client.post(CALLBACK, content=raw, headers=headers), 400, "invalid_request")
    assert (await state(app, number))[0] == "submitted"
