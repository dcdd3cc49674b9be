"""Property-based fuzzing of every ``/api/`` operation with schemathesis, generated from our own
OpenAPI document, against the real app over HTTP, signed in: no server errors, and every error
answer in the one JSON error shape (a 5xx only where the operation documents it: the assistant is
off in this app, and chat says so with a 503)."""

from __future__ import annotations

import asyncio

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from server import create_app
from tests.miniapp_api.conftest import serve
from tests.wechat.local_wechat import APPID, SECRET, LocalWeChat

EXAMPLES_PER_OPERATION = 25


def fuzz_operation(operation, documented: set[str], base_url: str, token: str) -> tuple[int, list[str]]:  # type: ignore[no-untyped-def]
    tried, problems = 0, []

    @given(operation.as_strategy())
    @hypothesis_settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                         suppress_health_check=list(HealthCheck))
    def check(case) -> None:  # type: ignore[no-untyped-def]
        nonlocal tried
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
        response = case.call(base_url=base_url)
        tried += 1
        where = f"{case.method} {case.formatted_path} {case.query} {str(case.body)[:120]}"
        # a 503 the operation documents (the assistant is off here) is an answer, not a failure
        if response.status_code >= 500 and str(response.status_code) not in documented:
            problems.append(f"{response.status_code} on {where}: {response.text[:200]}")
        elif response.status_code >= 400 and response.status_code != 405:
            body = response.json()
            if not (isinstance(body, dict) and {"code", "message"} <= set(body.get("error", {}))):
                problems.append(f"{response.status_code} without the error shape on {where}")

    check()
    return tried, problems


def fuzz(doc: dict, base_url: str, token: str) -> tuple[int, list[str]]:
    tried, problems = 0, []
    for result in schemathesis.openapi.from_dict(doc).get_all_operations():
        operation = result.ok()
        if operation.path.startswith("/api/"):
            documented = set(doc["paths"][operation.path][operation.method.lower()].get("responses", {}))
            count, found = fuzz_operation(operation, documented, base_url, token)
            tried, problems = tried + count, problems + found
    return tried, problems


@pytest.mark.timeout(600)
async def test_no_operation_fails_or_answers_outside_the_error_shape(test_settings, capsys):
    with LocalWeChat() as wechat:
        app = create_app(test_settings.with_overrides(assistant=False, miniapp_appid=APPID, miniapp_secret=SECRET,
                                                      wechat_api_base=wechat.base_url, approval_secret="fuzz"))
        async with serve(app) as http:
            user = await app.ctx.identities.user_for_openid("o_fuzzer")
            token, _ = await app.ctx.tokens.issue(user)
            doc = (await http.get("/docs/openapi.json")).json()
            tried, problems = await asyncio.get_running_loop().run_in_executor(
                None, fuzz, doc, str(http.base_url), token)
    with capsys.disabled():
        print(f"\nschemathesis: {tried} generated requests over the API")
    assert tried >= 20 * EXAMPLES_PER_OPERATION // 2
    assert problems == []
