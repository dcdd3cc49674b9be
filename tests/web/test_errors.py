"""The one error shape and the one map from domain error codes to HTTP statuses, on a bare app."""

from __future__ import annotations

import pytest
from sanic import Sanic
from sanic.response import html

from domain_errors import DomainError
from web import middleware
from web.errors import DEFAULT_STATUS, STATUS_BY_CODE, ApiError, status_of


class SomeServiceError(DomainError):
    pass


@pytest.fixture
def app() -> Sanic:
    app = Sanic(f"errors_{id(object())}", configure_logging=False, env_prefix=None)
    middleware.install(app)

    @app.get("/api/domain/<code:str>")
    async def domain(request, code: str):  # type: ignore[no-untyped-def]
        raise SomeServiceError(code, "做不到", {"why": code}, retry_after=30 if code == "too_many_attempts" else None)

    @app.get("/api/http")
    async def http(request):  # type: ignore[no-untyped-def]
        raise ApiError(409, "taken", "已被占用", headers={"Retry-After": "5"})

    @app.get("/pages/domain")
    async def page(request):  # type: ignore[no-untyped-def]
        raise SomeServiceError("draft_gone", "草稿已不在")

    app.ctx.html_errors = {"/pages": lambda request, status, code, message, details:
                           html(f"<p>{code}: {message}</p>", status=status)}
    return app


@pytest.mark.parametrize(("code", "status"), [("draft_changed", 409), ("node_not_found", 404), ("own_change", 403),
                                              ("attachment_type", 415), ("something_new", 422)])
async def test_a_domain_error_is_answered_with_its_codes_status(app: Sanic, code: str, status: int) -> None:
    _, response = await app.asgi_client.get(f"/api/domain/{code}")
    assert response.status == status == status_of(code)
    assert response.json == {"error": {"code": code, "message": "做不到", "details": {"why": code}}}
    assert response.headers.get("X-Request-ID") and "Retry-After" not in response.headers


async def test_retry_after_travels_with_the_domain_error(app: Sanic) -> None:
    _, response = await app.asgi_client.get("/api/domain/too_many_attempts")
    assert response.status == 429 and response.headers["Retry-After"] == "30"


async def test_the_http_layers_own_refusals_keep_their_status_and_headers(app: Sanic) -> None:
    _, response = await app.asgi_client.get("/api/http")
    assert response.status == 409 and response.headers["Retry-After"] == "5"
    assert response.json["error"] == {"code": "taken", "message": "已被占用", "details": None}


async def test_console_pages_render_domain_errors_as_pages(app: Sanic) -> None:
    _, response = await app.asgi_client.get("/pages/domain")
    assert response.status == 409 and response.text == "<p>draft_gone: 草稿已不在</p>"


def test_the_map_has_only_error_statuses_and_a_422_default() -> None:
    assert DEFAULT_STATUS == 422 and status_of("never_heard_of_it") == 422
    assert all(400 <= status < 600 for status in STATUS_BY_CODE.values())
