"""Pre-review's cross-field rules against the population library, and status notifications by
subscribe message where the user consented to one."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

from assistant.catalog import CatalogService
from smartform.applications import ApplicationService
from smartform.base_library import DemoBaseLibrary
from smartform.review import PreReview
from smartform.schemas import FormSchema, load_forms
from smartform.synthetic import people, seed_demo_library
from smartform.validators import id_check_digit
from store.outbox import Outbox
from store.tables.applications import applications
from store.tables.identity import users
from store.tables.messages import subscriptions
from store.tables.outbox import outbox_jobs
from tests.helpers import china_day_at_half_past_eleven_utc, half_past_eleven_utc
from wechat.senders import WeChatSenders

FORMS = load_forms(Path(__file__).resolve().parents[2] / "demo" / "forms")


async def test_a_name_that_is_not_the_ids_record_and_an_underage_operator(db):
    await seed_demo_library(db)
    person = people()[20]
    review = PreReview(DemoBaseLibrary(db))
    data = {"operator_name": "张冒名", "operator_id_number": person["id_number"], "operator_phone": "13800001234",
            "use_name": False, "organisation_form": "个人经营", "premises_district": "510104",
            "premises_address": "示例路1号", "premises_proof": "申报承诺", "business_scope": "小吃",
            "capital": "1", "employees": 1, "by_agent": False}
    problems = await review.review(FORMS["CD-0053"], data, set(), today=date(2026, 11, 22))
    assert [(p.field, p.code) for p in problems] == [("operator_name", "name_mismatch")]
    data["operator_name"] = person["name"]
    assert await review.review(FORMS["CD-0053"], data, set(), today=date(2026, 11, 22)) == []
    born = date.fromisoformat(person["birth_date"])
    too_early = date(born.year + 15, born.month, 1)  # the operator is 15 then
    problems = await review.review(FORMS["CD-0053"], data, set(), today=too_early)
    assert [(p.field, p.code) for p in problems] == [("operator_id_number", "age")]


async def test_status_changes_use_one_time_subscriptions_once(db, audit):
    outbox = Outbox(db, audit)
    service = ApplicationService(db, outbox, CatalogService(db, audit), None, PreReview(),  # type: ignore[arg-type]
                                 subscribe_template="TPL_STATUS", senders=WeChatSenders(db, outbox, api=None))  # type: ignore[arg-type]
    now = datetime.now(UTC)
    async with db.transaction() as conn:
        await conn.execute(users.insert().values(id="u1", openid="o_mini_1", created_at=now))
        await conn.execute(subscriptions.insert().values(user_id="u1", template_id="TPL_STATUS", scene="application_status",
                                                         long_term=False, remaining=1, created_at=now))
        await conn.execute(applications.insert().values(
            number="SQ20261122000007", draft_id="d7", user_id="u1", item_code="CD-0053", item_name="个体工商户设立登记",
            item_version=1, form_version=1, data={}, attachments=[], status="submitted", submitted_at=now, updated_at=now))
    assert await service.record_status("SQ20261122000007", "accepted", event_id="a", note=None, source="approval")
    assert await service.record_status("SQ20261122000007", "approved", event_id="b", note=None, source="approval")
    async with db.read() as conn:
        jobs = list(await conn.execute(sa.select(outbox_jobs).where(outbox_jobs.c.kind == "wechat.subscribe")))
        remaining = (await conn.execute(sa.select(subscriptions.c.remaining))).scalar()
    assert len(jobs) == 1 and remaining == 0  # one consent, one message: the second change is in the message centre only
    assert jobs[0].payload["touser"] == "o_mini_1" and jobs[0].payload["data"]["phrase3"] == {"value": "已受理"}


async def test_pre_review_judges_by_the_day_in_china():
    """At 23:30 UTC it is already tomorrow in China: a child born then is not born in the future."""
    form = FormSchema(item_code="CD-TEST", title="出生登记", version=1, audience="person", purpose="测试",
                      fields=[{"key": "child_id_number", "label": "身份证号", "type": "id_number", "required": True}])
    body = "510104" + china_day_at_half_past_eleven_utc().strftime("%Y%m%d") + "123"
    data = {"child_id_number": body + id_check_digit(body)}
    assert await PreReview(clock=half_past_eleven_utc).review(form, data, set()) == []
