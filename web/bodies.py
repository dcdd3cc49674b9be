"""Reading what clients send in a request body: JSON of bounded depth validated by a pydantic model,
and the streamed bodies of routes with their own size limit."""

from __future__ import annotations

import json as jsonlib
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sanic import Request

from web.errors import ERROR_MESSAGES, ApiError

# how deeply JSON from a client may nest (arrays and objects). Our deepest legitimate document is a
# staff policy draft whose condition tree is at its own limit (policy_graph.conditions.MAX_DEPTH,
# 12 levels: 27 JSON levels with the body around it); a form's draft data nests 3 or 4 levels. Far
# deeper JSON is only an attack on the recursive code that would serialise or walk it (a 500).
MAX_JSON_DEPTH = 32

M = TypeVar("M", bound=BaseModel)


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


def parse_body(model: type[M], request: Request) -> M:
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
    return ApiError(413, "payload_too_large", ERROR_MESSAGES[413], details={"max_bytes": limit})


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
