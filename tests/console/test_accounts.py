"""Staff accounts on both databases: argon2id hashes, sessions, throttling, switching off."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from cli import main
from console.accounts import AccountError, StaffAccounts
from store.tables.base import utcnow
from store.tables.staff import staff_accounts
from web.errors import status_of

PASSWORD = "correct-horse-7"


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now


async def test_a_password_is_kept_only_as_an_argon2id_hash_and_signs_in(db, audit):
    accounts = StaffAccounts(db, audit)
    await accounts.create("cli", "li.editor", "李编辑", "editor", PASSWORD)
    async with db.read() as conn:
        stored = (await conn.execute(sa.select(staff_accounts.c.password_hash))).scalar()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    session = await accounts.sign_in("LI.editor ", PASSWORD, "10.0.0.1")  # names are case-blind
    assert session.staff.username == "li.editor" and session.staff.can("policy.edit")
    assert not session.staff.can("policy.publish")
    assert (await accounts.session(session.token)).csrf_token == session.csrf_token
    await accounts.sign_out(session)
    assert await accounts.session(session.token) is None
    actions = [e["action"] for e in await audit.entries(target_type="staff")]
    assert actions == ["staff.sign_out", "staff.sign_in", "staff.create"]


async def test_a_wrong_name_and_a_wrong_password_get_the_same_answer(db, audit):
    accounts = StaffAccounts(db, audit)
    await accounts.create("cli", "wang.admin", "王管理", "admin", PASSWORD)
    for name, password in (("wang.admin", "wrong-password-1"), ("nobody", PASSWORD)):
        with pytest.raises(AccountError) as refused:
            await accounts.sign_in(name, password, "10.0.0.2")
        assert (status_of(refused.value.code), refused.value.code, str(refused.value)) == (401, "bad_credentials", "用户名或密码不正确")


async def test_failures_slow_the_name_at_that_address_and_then_the_address(db, audit):
    clock = Clock()
    accounts = StaffAccounts(db, audit, max_failures_per_name=3, max_failures_per_address=5, clock=clock)
    await accounts.create("cli", "zhao.reviewer", "赵审核", "reviewer", PASSWORD)
    await accounts.create("cli", "qian.editor", "钱编辑", "editor", PASSWORD)
    for _ in range(3):
        with pytest.raises(AccountError):
            await accounts.sign_in("zhao.reviewer", "guess-guess-1", "10.0.0.3")
    with pytest.raises(AccountError) as waiting:  # even the right password, while it must wait
        await accounts.sign_in("zhao.reviewer", PASSWORD, "10.0.0.3")
    assert status_of(waiting.value.code) == 429 and waiting.value.code == "too_many_attempts"
    assert waiting.value.details == {"retry_after_seconds": 30}
    # the same name from elsewhere is not slowed by these failures
    assert (await accounts.sign_in("zhao.reviewer", PASSWORD, "10.0.0.9")).staff.username == "zhao.reviewer"
    for name in ("a1", "a2"):  # spraying other names from the same address
        with pytest.raises(AccountError):
            await accounts.sign_in(name, "guess-guess-1", "10.0.0.3")
    with pytest.raises(AccountError) as by_address:
        await accounts.sign_in("qian.editor", PASSWORD, "10.0.0.3")
    assert status_of(by_address.value.code) == 429
    assert (await accounts.sign_in("qian.editor", PASSWORD, "10.0.0.4")).staff.username == "qian.editor"
    clock.now += timedelta(seconds=31)
    assert (await accounts.sign_in("zhao.reviewer", PASSWORD, "10.0.0.3")).staff.role == "reviewer"


async def test_delays_double_and_stop_at_the_throttle_window(db, audit):
    clock = Clock()
    accounts = StaffAccounts(db, audit, max_failures_per_name=2, throttle_minutes=15, clock=clock)
    waits, verified = [], 0
    while len(waits) < 8:
        with pytest.raises(AccountError) as refused:
            await accounts.sign_in("nobody", "guess-guess-1", "10.0.0.7")
        if status_of(refused.value.code) == 401:
            verified += 1
            continue
        waits.append(refused.value.details["retry_after_seconds"])
        clock.now += timedelta(seconds=waits[-1])
    assert waits == [30, 60, 120, 240, 480, 900, 900, 900] and verified == 2 + 7


async def test_a_known_name_and_address_is_not_locked_out_by_others(db, audit):
    clock = Clock()
    accounts = StaffAccounts(db, audit, max_failures_per_name=3, max_failures_per_address=5, clock=clock)
    await accounts.create("cli", "wang.admin", "王管理", "admin", PASSWORD)
    await accounts.sign_in("wang.admin", PASSWORD, "10.1.0.1")  # the admin's own office
    for n in range(60):  # an attacker guessing the admin's password from sixty addresses
        with pytest.raises(AccountError):
            await accounts.sign_in("wang.admin", "guess-guess-1", f"10.2.0.{n}")
    with pytest.raises(AccountError) as new_address:
        await accounts.sign_in("wang.admin", "guess-guess-1", "10.3.0.1")
    assert status_of(new_address.value.code) == 429  # the name is slowed for addresses it never used
    assert (await accounts.sign_in("wang.admin", PASSWORD, "10.1.0.1")).staff.role == "admin"


async def test_switching_an_account_off_or_changing_its_password_ends_its_sessions(db, audit):
    clock = Clock()
    accounts = StaffAccounts(db, audit, session_hours=8, clock=clock)
    await accounts.create("cli", "sun.approver", "孙审批", "approver", PASSWORD)
    first = await accounts.sign_in("sun.approver", PASSWORD, "10.0.0.5")
    await accounts.update("wang.admin", "sun.approver", password="another-pass-8")
    assert await accounts.session(first.token) is None
    second = await accounts.sign_in("sun.approver", "another-pass-8", "10.0.0.5")
    await accounts.update("wang.admin", "sun.approver", active=False)
    assert await accounts.session(second.token) is None
    with pytest.raises(AccountError):
        await accounts.sign_in("sun.approver", "another-pass-8", "10.0.0.5")
    await accounts.update("wang.admin", "sun.approver", active=True, role="editor")
    third = await accounts.sign_in("sun.approver", "another-pass-8", "10.0.0.5")
    assert third.staff.role == "editor"
    clock.now += timedelta(hours=8, seconds=1)
    assert await accounts.session(third.token) is None  # a working day, then sign in again


@pytest.mark.parametrize(("username", "role", "password", "code"), [
    ("Li", "editor", PASSWORD, "username_invalid"),
    ("li.editor", "boss", PASSWORD, "role_invalid"),
    ("li.editor", "editor", "short1", "weak_password"),
    ("li.editor", "editor", " " * 12, "weak_password"),
    ("li.editor", "editor", "password12", "weak_password"),
    ("li.editor", "editor", "P@ssw0rd2026!", "weak_password"),
    ("li.editor", "editor", "woaini1314520", "weak_password"),
    ("li.editor", "editor", "li.editor-2026", "weak_password"),
    ("li.editor", "editor", "abababababab", "weak_password"),
])
async def test_bad_accounts_are_refused(sqlite_db, username, role, password, code):
    from store.audit import AuditLog

    with pytest.raises(AccountError) as refused:
        await StaffAccounts(sqlite_db, AuditLog(sqlite_db)).create("cli", username, "李编辑", role, password)
    assert refused.value.code == code


def test_the_first_admin_is_created_from_the_command_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RYB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RYB_LOAD_DEMO", "false")
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["create-staff", "--username", "wang.admin", "--name", "王管理", "--role", "admin",
                 "--password-stdin"]) == 0
    assert "created admin wang.admin" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["create-staff", "--username", "wang.admin", "--name", "王管理", "--role", "admin",
                 "--password-stdin"]) == 1
    assert "已存在" in capsys.readouterr().err
