"""The API's common rules: one JSON error shape for every 4xx/5xx, request ids, access logs, and
reading what clients send (query arguments, JSON bodies of bounded depth, streamed bodies of bounded
size)."""

from __future__ import annotations

import json as jsonlib
import logging
import re
import time
import uuid
from functools import partial
from typing import Any

from pydantic import BaseModel, ValidationError
from sanic import Request, Sanic
from sanic.exceptions import SanicException
from sanic.handlers import ErrorHandler
from sanic.response import HTTPResponse, empty, json

from logs import request_id_var

log = logging.getLogger("rongyiban.http")

_ERROR_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 408: "request_timeout", 409: "conflict", 413: "payload_too_large",
    414: "uri_too_long", 422: "validation_error", 429: "rate_limited", 503: "unavailable",
}
_ERROR_MESSAGES = {
    404: "请求的资源不存在",
    405: "不支持该请求方法",
    413: "请求体过大",
}
_REQUEST_ID = re.compile(r"^[0-9A-Za-z._\-]{1,64}$")
# how deeply JSON from a client may nest (arrays and objects). Our deepest legitimate document is a
# staff policy draft whose condition tree is at its own limit (policy_graph.conditions.MAX_DEPTH,
# 12 levels: 27 JSON levels with the body around it); a form's draft data nests 3 or 4 levels. Far
# deeper JSON is only an attack on the recursive code that would serialise or walk it (a 500).
MAX_JSON_DEPTH = 32


class ApiError(SanicException):
    """An error the client should see, with a stable machine-readable code."""

    def __init__(self, status: int, code: str, message: str, details: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message, status_code=status)
        self.code = code
        self.details = details
        self.extra_headers = headers or {}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


class JsonErrorHandler(ErrorHandler):
    """Every error, ours or Sanic's, leaves as ``{"error": {"code", "message", "details"}}``."""

    def default(self, request: Request, exception: Exception) -> HTTPResponse:
        if isinstance(exception, ApiError):
            status, code, message, details = exception.status_code, exception.code, str(exception), exception.details
        elif isinstance(exception, SanicException):
            status = exception.status_code
            code = _ERROR_CODES.get(status, "error" if status < 500 else "internal_error")
            message = _ERROR_MESSAGES.get(status) or str(exception) or code
            details = None
        else:
            status, code, message, details = 500, "internal_error", "服务内部错误，请稍后再试", None
        if status >= 500 and not isinstance(exception, ApiError):  # ours (503s) are deliberate
            log.error("unhandled error on %s %s", request.method, request.path, exc_info=exception)
        pages = getattr(request.app.ctx, "html_errors", {})  # the console shows errors as pages
        prefix = next((p for p in pages if request.path == p or request.path.startswith(p + "/")), None)
        if prefix is not None:
            response = pages[prefix](request, status, code, message, details)
            response.headers["X-Request-ID"] = _request_id(request)
            return response
        response = json(error_body(code, message, details), status=status)
        response.headers["X-Request-ID"] = _request_id(request)
        if isinstance(exception, ApiError):
            response.headers.update(exception.extra_headers)
        return response


def _request_id(request: Request) -> str:
    return getattr(request.ctx, "request_id", None) or request_id_var.get()


def client_address(request: Request) -> str:
    """The client's address (as the proxy settings let Sanic see it), for limits and the record."""
    return request.remote_addr or request.ip or "-"


class JsonTooDeep(ValueError):
    """JSON nested deeper than ``MAX_JSON_DEPTH``."""


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity: Python reads them, JSON has none


def load_json(raw: str | bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON from a client: ``ValueError`` when it is not JSON, ``JsonTooDeep`` when arrays and
    objects nest deeper than ``max_depth``."""
    try:
        value = jsonlib.loads(raw, parse_constant=_no_constants)
    except RecursionError:  # deeper than the parser itself can go: certainly too deep
        raise JsonTooDeep(f"nested deeper than {max_depth} levels") from None
    opening = (b"[", b"{") if isinstance(raw, bytes) else ("[", "{")
    if raw.count(opening[0]) + raw.count(opening[1]) > max_depth and _deeper_than(value, max_depth):  # type: ignore[arg-type]
        raise JsonTooDeep(f"nested deeper than {max_depth} levels")
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    # a loop, not recursion: the walk must not fail the way it protects others from failing
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def parse_body(model: type[BaseModel], request: Request) -> Any:
    """Validate a JSON request body with a pydantic model (no body: ``{}``); 400 with per-field
    details, ``invalid_json``, or ``json_too_deep`` otherwise. Every JSON route reads its body here."""
    try:
        data = load_json(request.body) if request.body else {}
    except JsonTooDeep:
        raise ApiError(400, "json_too_deep", f"请求内容嵌套层级过深（最多 {MAX_JSON_DEPTH} 层）",
                       details={"max_depth": MAX_JSON_DEPTH}) from None
    except ValueError:  # not JSON at all, or not UTF-8
        raise ApiError(400, "invalid_json", "请求体不是合法的 JSON") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(400, "invalid_request", "请求内容不正确", details=[
            {"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"]} for err in exc.errors()]) from None


def too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", _ERROR_MESSAGES[413], details={"max_bytes": limit})


async def read_body(request: Request, limit: int) -> bytes:
    """The body of a streaming route (``stream=True``: Sanic leaves it unread and unlimited), read
    with this route's own limit: refused with 413 before a byte is read when ``Content-Length`` says
    more, and as soon as a chunked body passes it. It becomes ``request.body`` (and so
    ``request.form``/``request.files``). Every other route's body is limited by Sanic itself, at
    ``REQUEST_MAX_SIZE``, before its handler runs."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks, size = [], 0
    while (chunk := await request.stream.read()) is not None:  # type: ignore[union-attr]
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    request.body = b"".join(chunks)
    return request.body


def parse_query(model: type[BaseModel], request: Request) -> Any:
    """Validate query arguments with a pydantic model; 400 with per-field details otherwise."""
    raw = {key: values[-1] for key, values in request.args.items()}
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ApiError(400, "invalid_request", "请求参数不正确", details=[
            {"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"]} for err in exc.errors()
        ]) from None


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
        response.headers["X-Request-ID"] = _request_id(request)
        started = getattr(request.ctx, "started", None)
        duration = round((time.perf_counter() - started) * 1000, 1) if started else None
        log.info("%s %s %s", request.method, request.path, response.status, extra={
            "method": request.method, "path": request.path, "status": response.status,
            "duration_ms": duration, "request_id": _request_id(request)})


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
