"""What every request passes through, set up once on the app: the JSON error handler, request ids,
the rate limits' check, the access log, and an OPTIONS answer on every path."""

from __future__ import annotations

import logging
import re
import time
import uuid
from functools import partial

from sanic import Request, Sanic
from sanic.response import HTTPResponse, empty

from logs import request_id_var
from web.errors import JsonErrorHandler, request_id

log = logging.getLogger("rongyiban.http")
_REQUEST_ID = re.compile(r"^[0-9A-Za-z._\-]{1,64}$")


def install(app: Sanic) -> None:
    """Attach the error handler and the request-id / access-log middleware to an app."""
    app.error_handler = JsonErrorHandler()

    @app.on_request(priority=100)
    async def assign_request_id(request: Request) -> None:
        given = request.headers.get("X-Request-ID", "")
        request.ctx.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        request.ctx.started = time.perf_counter()
        request_id_var.set(request.ctx.request_id)

    @app.on_request(priority=95)
    async def limit_rate(request: Request) -> None:
        limits = getattr(app.ctx, "rate_limits", None)
        if limits is not None:
            await limits.check(request)

    @app.on_response(priority=100)
    async def log_access(request: Request, response: HTTPResponse) -> None:
        response.headers["X-Request-ID"] = request_id(request)
        started = getattr(request.ctx, "started", None)
        duration = round((time.perf_counter() - started) * 1000, 1) if started else None
        log.info("%s %s %s", request.method, request.path, response.status, extra={
            "method": request.method, "path": request.path, "status": response.status,
            "duration_ms": duration, "request_id": request_id(request)})


def answer_preflights(app: Sanic) -> None:
    """An OPTIONS route on every path, whose answer lists the path's methods; sanic-ext's CORS adds
    the CORS headers to it. Called once every route is registered, while the app is still being
    built: sanic-ext's automatic OPTIONS routes (which its CORS requires to be on) are added at
    server start one at a time, re-finalising the signal router after each — about a second per
    start — and it adds none where a path has OPTIONS already."""
    async def preflight(request: Request, methods: frozenset[str], **_path: str) -> HTTPResponse:
        response = empty()
        response.headers["allow"] = ",".join(sorted({*methods, "OPTIONS"}))
        return response

    for n, group in enumerate(list(app.router.groups.values())):
        if "OPTIONS" not in group.methods:
            app.add_route(partial(preflight, methods=group.methods), group.uri, methods=["OPTIONS"],
                          name=f"preflight_{n}", strict_slashes=group.strict, unquote=group.unquote)
