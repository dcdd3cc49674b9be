"""OpenAPI documentation from our own pydantic models: request bodies and the error responses,
in OpenAPI 3.0's dialect (sanic-ext's own conversion of pydantic models lists ``model_config`` as a
property, so the schema comes from ``model_json_schema()``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sanic_ext import openapi
from sanic_ext.extensions.openapi.definitions import RequestBody, Response

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {"nullable": True}}}}}
_ERROR_TEXT = {400: "invalid request", 401: "not signed in, or the token is invalid, expired or revoked",
               403: "forbidden", 404: "not found (also: someone else's)", 409: "conflict", 413: "too large",
               415: "unsupported file type", 422: "well-formed but not acceptable", 429: "rate limited",
               503: "not available yet or not configured"}


def to_openapi_30(schema: Any) -> Any:
    """JSON Schema (pydantic) → OpenAPI 3.0: ``anyOf [X, null]`` becomes ``X`` + ``nullable``;
    ``$defs`` are inlined (OpenAPI 3.0 has no local definitions)."""
    definitions = schema.get("$defs", {}) if isinstance(schema, dict) else {}

    def convert(node: Any) -> Any:
        if isinstance(node, list):
            return [convert(n) for n in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node and node["$ref"].startswith("#/$defs/"):
            return convert(definitions[node["$ref"].split("/")[-1]])
        options = node.get("anyOf")
        if isinstance(options, list) and {"type": "null"} in options:
            rest = [o for o in options if o != {"type": "null"}]
            merged = {k: v for k, v in node.items() if k != "anyOf"}
            merged.update(convert(rest[0]) if len(rest) == 1 else {"anyOf": convert(rest)})
            merged["nullable"] = True
            return {k: convert(v) for k, v in merged.items()}
        return {k: convert(v) for k, v in node.items() if k not in ("$defs", "title")}

    return convert(schema)


def documented(body: type[BaseModel] | None = None, *, ok: int = 200, errors: tuple[int, ...] = (400,),
               example: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    """Declare an operation's JSON request body, its success status and the errors it can answer with."""
    request_body = None
    if body is not None:
        schema = to_openapi_30(body.model_json_schema())
        if example is not None:
            schema["example"] = example
        request_body = RequestBody({"application/json": schema}, required=True)
    responses = [Response({"application/json": {"type": "object"}}, status=ok, description="OK")]
    responses += [Response({"application/json": ERROR}, status=status, description=_ERROR_TEXT.get(status, "error"))
                  for status in (*errors, 429)]
    return openapi.definition(body=request_body, response=responses)
