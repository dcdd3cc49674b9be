"""Property-based fuzzing of every ``/api/`` operation with schemathesis, generated from our own
OpenAPI document, against the real app over HTTP, signed in: no server errors (a 5xx only where
the operation documents it: the assistant is off in this app, and chat says so with a 503), every
status one the operation documents, and every answer, success or error, matching its schema."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from server import create_app
from tests.miniapp_api.conftest import serve
from tests.wechat.local_wechat import APPID, SECRET, LocalWeChat

EXAMPLES_PER_OPERATION = 25
CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]


def fuzz_operation(operation, documented: set[str], base_url: str, token: str,  # type: ignore[no-untyped-def]
                   statuses: Counter[int], problems: list[str]) -> None:
    """``token``: a citizen's for the mini-program's operations, an admin's for the staff API."""

    @given(operation.as_strategy())
    @hypothesis_settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                         suppress_health_check=list(HealthCheck))
    def check(case) -> None:  # type: ignore[no-untyped-def]
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
        response = case.call(base_url=base_url)
        statuses[response.status_code] += 1
        where = f"{case.method} {case.formatted_path} {case.query} {str(case.body)[:120]}"
        # a 503 the operation documents (the assistant is off here) is an answer, not a failure
        if response.status_code >= 500 and str(response.status_code) not in documented:
            problems.append(f"{response.status_code} on {where}: {response.text[:200]}")
            return
        try:
            case.validate_response(response, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as failure:  # schemathesis: one class per kind of failure
            problems.append(f"{response.status_code} on {where}: {str(failure)[:400]}")

    check()


SIGN_OUTS = ("/api/v1/auth/logout", "/api/v1/staff/sessions/current")  # they end the session: fuzzed last


def fuzz(doc: dict, base_url: str, token: str, staff_token: str) -> tuple[Counter[int], list[str]]:
    """Every answer's status, and what went wrong."""
    statuses: Counter[int] = Counter()
    problems: list[str] = []
    operations = [result.ok() for result in schemathesis.openapi.from_dict(doc).get_all_operations()]
    for operation in sorted(operations, key=lambda op: op.path in SIGN_OUTS):
        if operation.path.startswith("/api/"):
            documented = set(doc["paths"][operation.path][operation.method.lower()].get("responses", {}))
            as_who = staff_token if operation.path.startswith("/api/v1/staff/") else token
            fuzz_operation(operation, documented, base_url, as_who, statuses, problems)
    return statuses, problems


@pytest.mark.timeout(600)
async def test_no_operation_fails_or_answers_outside_its_documentation(test_settings, capsys):
    with LocalWeChat() as wechat:
        app = create_app(test_settings.with_overrides(assistant=False, miniapp_appid=APPID, miniapp_secret=SECRET,
                                                      wechat_api_base=wechat.base_url, approval_secret="fuzz"))
        async with serve(app) as http:
            user = await app.ctx.identities.user_for_openid("o_fuzzer")
            token, _ = await app.ctx.tokens.issue(user)
            await app.ctx.staff_accounts.create("test", "fuzz.admin", "模糊测试", "admin", "fuzz-pass-2026")
            staff = await app.ctx.staff_accounts.sign_in("fuzz.admin", "fuzz-pass-2026", "127.0.0.1")
            doc = (await http.get("/docs/openapi.json")).json()
            statuses, problems = await asyncio.get_running_loop().run_in_executor(
                None, fuzz, doc, str(http.base_url), token, staff.token)
    tried = sum(statuses.values())
    with capsys.disabled():
        print(f"\nschemathesis: {tried} generated requests over the API; statuses {dict(sorted(statuses.items()))}")
    assert tried >= 20 * EXAMPLES_PER_OPERATION // 2
    assert sum(n for status, n in statuses.items() if status < 300) > tried // 10  # not only refusals
    assert problems == []
