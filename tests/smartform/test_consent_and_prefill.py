"""Consent before prefill: only consented fields are read, revocation is immediate, every read is
audited, and a base library that is down leaves a working, empty form."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from smartform.base_library import DemoBaseLibrary, HttpBaseLibrary, Subject
from smartform.consent import ConsentError, ConsentService, consent_request
from smartform.prefill import PrefillService
from smartform.schemas import load_forms
from smartform.synthetic import people, seed_demo_library
from store.tables.forms import consents
from tests.smartform.local_platform import APP_KEY, SECRET

FORMS = load_forms(Path(__file__).resolve().parents[2] / "demo" / "forms")
FORM = FORMS["CD-0053"]  # 个体工商户设立登记: name, ID number, phone, household address from the population library
PERSON = people()[7]
SUBJECT = Subject(PERSON["id_number"])


@pytest.fixture
async def services(db, audit):
    await seed_demo_library(db)
    consent = ConsentService(db, audit)
    return consent, PrefillService(db, audit, consent, DemoBaseLibrary(db))


def test_the_user_is_told_what_for_which_form_from_where_and_why():
    asked = consent_request(FORM)
    assert asked["form_title"] == "个体工商户设立登记申请表" and asked["purpose"]
    assert {f["source"] for f in asked["fields"]} == {"population.name", "population.id_number", "population.phone",
                                                      "population.household_address"}
    assert all(f["library"] == "人口库" and f["label"] for f in asked["fields"])


async def test_only_consented_fields_are_read_and_each_read_is_audited(services, audit):
    consent, prefill = services
    nothing = await prefill.prefill("u1", FORM, SUBJECT)
    assert nothing.values == {} and "未授权" in nothing.message

    await consent.grant("u1", FORM, ["population.name", "population.id_number"])
    filled = await prefill.prefill("u1", FORM, SUBJECT)
    assert filled.values == {
        "operator_name": {"value": PERSON["name"], "provenance": "population", "source": "population.name", "locked": True},
        "operator_id_number": {"value": PERSON["id_number"], "provenance": "population",
                               "source": "population.id_number", "locked": True}}
    assert filled.not_consented == ["population.household_address", "population.phone"]
    [read] = [e for e in await audit.entries(actor="user:u1") if e["action"] == "base_library.read"]
    assert read["target_id"] == "CD-0053" and read["details"]["fields"] == ["population.id_number", "population.name"]
    assert read["details"]["library"] == "演示基础库" and len(read["details"]["consents"]) == 1


async def test_revocation_is_immediate_and_expired_consent_reads_nothing(services, db, audit):
    consent, prefill = services
    granted = await consent.grant("u2", FORM, ["population.name"])
    assert (await prefill.prefill("u2", FORM, SUBJECT)).values
    assert await consent.revoke("u2", granted.id) is True
    assert (await prefill.prefill("u2", FORM, SUBJECT)).values == {}
    assert await consent.revoke("u2", granted.id) is False  # already revoked
    assert await consent.revoke("someone-else", (await consent.grant("u2", FORM, ["population.name"])).id) is False

    old = await consent.grant("u3", FORM, ["population.name"])
    async with db.transaction() as conn:
        await conn.execute(consents.update().where(consents.c.id == old.id).values(
            expires_at=old.granted_at - timedelta(seconds=1)))
    assert (await prefill.prefill("u3", FORM, SUBJECT)).values == {}
    actions = [e["action"] for e in await audit.entries(target_type="consent")]
    assert actions.count("consent.grant") == 3 and actions.count("consent.revoke") == 1


async def test_a_consent_covers_only_what_the_form_reads(services):
    consent, _ = services
    with pytest.raises(ConsentError):
        await consent.grant("u4", FORM, ["legal_person.uscc"])
    with pytest.raises(ConsentError):
        await consent.grant("u4", FORM, [])


async def test_a_library_that_is_down_leaves_a_working_empty_form(db, audit):
    consent = ConsentService(db, audit)
    down = HttpBaseLibrary("http://127.0.0.1:9", APP_KEY, SECRET, timeout_seconds=0.5, retries=0)
    prefill = PrefillService(db, audit, consent, down)
    await consent.grant("u5", FORM, ["population.name"])
    result = await prefill.prefill("u5", FORM, SUBJECT)
    assert result.library_unavailable and result.values == {} and "手动填写" in result.message
    assert [e for e in await audit.entries(actor="user:u5") if e["action"] == "base_library.read"] == []
    await down.close()
    async with db.read() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(consents))).scalar() == 1
