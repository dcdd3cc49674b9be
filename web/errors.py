"""The one JSON error shape, ``{"error": {"code", "message", "details"}}``, for every 4xx/5xx of
every HTTP layer, and the one mapping from a domain error's code to its HTTP status: a service
raises ``domain_errors.DomainError`` (no status), a handler lets it go, and the error handler here
answers with the status ``STATUS_BY_CODE`` gives (422 for codes not listed). Console pages render the
same errors as pages (``app.ctx.html_errors``)."""

from __future__ import annotations

import logging
from typing import Any

from sanic import Request
from sanic.exceptions import SanicException
from sanic.handlers import ErrorHandler
from sanic.response import HTTPResponse, json

from domain_errors import DomainError
from logs import request_id_var

log = logging.getLogger("rongyiban.http")

_ERROR_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 408: "request_timeout", 409: "conflict", 413: "payload_too_large",
    414: "uri_too_long", 422: "validation_error", 429: "rate_limited", 503: "unavailable",
}
ERROR_MESSAGES = {
    404: "请求的资源不存在",
    405: "不支持该请求方法",
    413: "请求体过大",
}

# a domain error's code → the HTTP status it is answered with; every other code: DEFAULT_STATUS
DEFAULT_STATUS = 422
STATUS_BY_CODE: dict[str, int] = {
    # 400: the request itself is malformed
    "bad_date": 400, "bad_range": 400, "out_of_range": 400, "range_too_long": 400, "unknown_section": 400,
    "unknown_status": 400, "unknown_action": 400, "empty_query": 400, "invalid_filter": 400,
    # 401: not who they say
    "bad_credentials": 401,
    # 403: may not do this
    "own_change": 403, "identity_verification_required": 403, "grant_required": 403,
    "representative_required": 403, "not_legal_representative": 403,
    # 404: no such thing (or someone else's)
    "node_not_found": 404, "draft_missing": 404, "draft_not_found": 404, "item_not_found": 404,
    "ticket_not_found": 404, "answer_not_found": 404, "application_not_found": 404, "followup_not_found": 404,
    "staff_not_found": 404, "unknown_query_file": 404,
    # 409: conflicts with the state things are in now
    "changed_meanwhile": 409, "kind_mismatch": 409, "not_published": 409, "stale_draft": 409, "under_review": 409,
    "not_draft": 409, "not_in_review": 409, "not_approved": 409,
    "draft_changed": 409, "draft_exists": 409, "draft_gone": 409, "item_changed": 409,
    "draft_conflict": 409, "draft_submitted": 409, "wrong_transition": 409, "invalid_transition": 409,
    "already_evaluated": 409, "followup_answered": 409, "already_decided": 409, "not_allowed_now": 409,
    "username_taken": 409, "identity_bound_elsewhere": 409, "authorization_invalid": 409, "batch_running": 409,
    # 413, 415: what was sent cannot be taken
    "attachment_too_large": 413, "upload_too_large": 413, "attachment_type": 415,
    # 429: too many tries
    "too_many_attempts": 429,
    # 503: a part of the service that is off or out of reach
    "platform_not_configured": 503, "platform_unavailable": 503,
}


def status_of(code: str) -> int:
    """The HTTP status a domain error with this code is answered with."""
    return STATUS_BY_CODE.get(code, DEFAULT_STATUS)


class ApiError(SanicException):
    """An error the client should see, with a stable machine-readable code (for refusals that are
    the HTTP layer's own; a service raises ``DomainError``)."""

    def __init__(self, status: int, code: str, message: str, details: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message, status_code=status)
        self.code = code
        self.details = details
        self.extra_headers = headers or {}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def _extra_headers(exception: Exception) -> dict[str, str]:
    if isinstance(exception, ApiError):
        return exception.extra_headers
    if isinstance(exception, DomainError) and exception.retry_after is not None:
        return {"Retry-After": str(exception.retry_after)}
    return {}


class JsonErrorHandler(ErrorHandler):
    """Every error, ours or Sanic's, leaves as ``{"error": {"code", "message", "details"}}``."""

    def default(self, request: Request, exception: Exception) -> HTTPResponse:
        if isinstance(exception, ApiError):
            status, code, message, details = exception.status_code, exception.code, str(exception), exception.details
        elif isinstance(exception, DomainError):
            status, code, message, details = status_of(exception.code), exception.code, str(exception), exception.details
        elif isinstance(exception, SanicException):
            status = exception.status_code
            code = _ERROR_CODES.get(status, "error" if status < 500 else "internal_error")
            message = ERROR_MESSAGES.get(status) or str(exception) or code
            details = None
        else:
            status, code, message, details = 500, "internal_error", "服务内部错误，请稍后再试", None
        if status >= 500 and not isinstance(exception, ApiError | DomainError):  # ours (503s) are deliberate
            log.error("unhandled error on %s %s", request.method, request.path, exc_info=exception)
        pages = getattr(request.app.ctx, "html_errors", {})  # the console shows errors as pages
        prefix = next((p for p in pages if request.path == p or request.path.startswith(p + "/")), None)
        if prefix is not None:
            response = pages[prefix](request, status, code, message, details)
            response.headers["X-Request-ID"] = request_id(request)
            return response
        response = json(error_body(code, message, details), status=status)
        response.headers["X-Request-ID"] = request_id(request)
        response.headers.update(_extra_headers(exception))
        return response


def request_id(request: Request) -> str:
    return getattr(request.ctx, "request_id", None) or request_id_var.get()
