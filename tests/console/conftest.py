"""Fixtures of the console tests: the production app with staff accounts of every role."""

from __future__ import annotations

import re
from datetime import date

import pytest

from server import create_app

PASSWORD = "console-pass-2026"
STAFF = {"li.editor": ("李编辑", "editor"), "zhao.reviewer": ("赵审核", "reviewer"),
         "qian.reviewer": ("钱审核", "reviewer"), "sun.approver": ("孙审批", "approver"),
         "wang.admin": ("王管理", "admin")}
TRUE_FIRM, UNKNOWN_FIRM, FALSE_FIRM = "91510100MA0000001A", "91510100MA0000002B", "91440100MA0000003C"


@pytest.fixture
def app(test_settings):
    return create_app(test_settings.with_overrides(assistant=False))


async def add_staff(app) -> None:  # type: ignore[no-untyped-def]
    for username, (name, role) in STAFF.items():
        await app.ctx.staff_accounts.create("test", username, name, role, PASSWORD)


async def bearer(http, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    answer = await http.post("/api/v1/staff/sessions", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


async def sign_in_page(http, username: str) -> str:  # type: ignore[no-untyped-def]
    """Sign in through the console's form (the client keeps the cookie); returns the CSRF token
    the signed-in pages carry."""
    form = await http.get("/console/login")
    login_csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    answer = await http.post("/console/login", data={"username": username, "password": PASSWORD,
                                                     "csrf_token": login_csrf, "next": "/console/"})
    assert answer.status_code == 303, answer.text
    return csrf_of((await http.get("/console/")).text)


def csrf_of(page: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)">', page).group(1)


async def load_firms(app) -> None:  # type: ignore[no-untyped-def]
    """Three enterprises for an item on patents in Chengdu: one qualifies, one may (patents
    unknown), one is registered elsewhere."""
    facts, catalogue = app.ctx.enterprise_facts, app.ctx.fact_catalogue
    rows = {TRUE_FIRM: {"registered_district": "510107", "invention_patents": 2.0},
            UNKNOWN_FIRM: {"registered_district": "510108"},
            FALSE_FIRM: {"registered_district": "440115", "invention_patents": 5.0}}
    async with app.ctx.db.transaction() as conn:
        for uscc, values in rows.items():
            for key, value in values.items():
                await facts.store(conn, uscc, key, value, date(2026, 11, 1), "法人库", catalogue[key].authoritative)
