"""OpenAPI documentation from our own pydantic models: request bodies, query parameters, the
success answer (a route package's response models) and the error answers, in OpenAPI 3.0's dialect
(sanic-ext's own conversion of pydantic models lists ``model_config`` as a property, so every
schema comes from ``model_json_schema()``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sanic_ext import openapi
from sanic_ext.extensions.openapi.definitions import Parameter, RequestBody, Response
from sanic_ext.extensions.openapi.types import Schema

BEARER = "bearer"  # the security schemes' names in the document: the mini-program's user token
STAFF_BEARER = "staff"  # and a staff member's (the console's cookie is the same token)
ERROR = {"type": "object", "required": ["error"], "additionalProperties": False, "properties": {"error": {
    "type": "object", "required": ["code", "message"], "additionalProperties": False,
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {"nullable": True}}}},
    "example": {"error": {"code": "invalid_request", "message": "请求内容不正确",
                          "details": [{"field": "stars", "message": "Input should be less than or equal to 5"}]}}}
_ERROR_TEXT = {400: "invalid request", 401: "not signed in, or the token is invalid, expired or revoked",
               403: "forbidden (for staff: the role may not do this, or a form lacks its CSRF token)", 404: "not found (also: someone else's)", 409: "conflict", 413: "too large",
               415: "unsupported file type", 422: "well-formed but not acceptable", 429: "rate limited",
               502: "a remote system refused", 503: "not available yet or not configured"}
UPLOAD = {"multipart/form-data": {"schema": {
    "type": "object", "required": ["key", "file"],
    "properties": {"key": {"type": "string", "description": "the form's attachment key"},
                   "file": {"type": "string", "format": "binary"}}}}}


def to_openapi_30(schema: Any) -> Any:
    """JSON Schema (pydantic) → OpenAPI 3.0: ``anyOf [X, null]`` becomes ``X`` + ``nullable``;
    ``$defs`` are inlined (OpenAPI 3.0 has no local definitions), a recursive one (a form's group
    of fields) as an object where it recurs; ``const`` becomes a one-value enum; numeric exclusive
    bounds become 3.0's boolean ones."""
    definitions = schema.get("$defs", {}) if isinstance(schema, dict) else {}

    def convert(node: Any, within: tuple[str, ...] = ()) -> Any:
        if isinstance(node, list):
            return [convert(n, within) for n in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node and node["$ref"].startswith("#/$defs/"):
            name = node["$ref"].split("/")[-1]
            if name in within:
                return {"type": "object", "description": f"a {name}, as above"}
            return convert(definitions[name], (*within, name))
        options = node.get("anyOf")
        if isinstance(options, list) and {"type": "null"} in options:
            rest = [o for o in options if o != {"type": "null"}]
            merged = {k: v for k, v in node.items() if k != "anyOf"}
            merged.update(convert(rest[0], within) if len(rest) == 1 else {"anyOf": convert(rest, within)})
            merged["nullable"] = True
            return {k: convert(v, within) for k, v in merged.items() if k != "title"}
        converted = {k: convert(v, within) for k, v in node.items() if k not in ("$defs", "title", "const")}
        if "const" in node:
            converted["enum"] = [node["const"]]
        for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            if isinstance(node.get(bound), int | float) and not isinstance(node[bound], bool):
                converted[limit], converted[bound] = node[bound], True  # 3.0: a flag on the limit
        return converted

    return convert(schema)


def schema_of(model: type[BaseModel], mode: str = "validation") -> dict[str, Any]:
    return to_openapi_30(model.model_json_schema(by_alias=True, mode=mode))  # type: ignore[arg-type]


def query_parameters(model: type[BaseModel]) -> list[Parameter]:
    """One query parameter per field of a query model, with its limits."""
    schema = schema_of(model)
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema["properties"].items():
        description = prop.pop("description", None)
        # a Schema object: sanic-ext would read a plain dict as the description of an object
        parameters.append(Parameter(name, Schema(**prop), "query", description=description, required=name in required))
    return parameters


def documented(body: type[BaseModel] | dict[str, Any] | None = None, *, response: type[BaseModel] | None = None,
               query: type[BaseModel] | None = None, ok: int = 200, errors: tuple[int, ...] = (400,),
               secured: bool = False, staff: bool = False, limited: bool = True, example: dict[str, Any] | None = None,
               other: dict[int, tuple[str, type[BaseModel] | None]] | None = None):  # type: ignore[no-untyped-def]
    """Declare an operation: its JSON (or multipart) request body and query parameters, its success
    answer, other non-error answers (``other``: status → description, body model or None), the
    errors it can answer with (401 when ``secured``: it needs the bearer token; 401 and 403 when
    ``staff``: it needs a staff member with the right role; 429 when ``limited``: under the API's
    rate limits)."""
    request_body = None
    if isinstance(body, dict):
        request_body = RequestBody(body, required=True)
    elif body is not None:
        schema = schema_of(body)
        if example is not None:
            schema["example"] = example
        request_body = RequestBody({"application/json": schema}, required=True)
    answer = {"application/json": schema_of(response, "serialization")} if response else {"application/json": {}}
    responses = [Response(answer, status=ok, description="OK")]
    for status, (text, model) in (other or {}).items():
        responses.append(Response({"application/json": schema_of(model, "serialization")} if model else None,
                                  status=status, description=text))
    statuses = sorted({*errors, *((429,) if limited else ()), *((401,) if secured else ()), *((401, 403) if staff else ()),
                       *((400, 413) if body is not None else ())})  # a body: not JSON, or too large
    responses += [Response({"application/json": ERROR}, status=status, description=_ERROR_TEXT.get(status, "error"))
                  for status in statuses]
    return openapi.definition(body=request_body, response=responses,
                              parameter=query_parameters(query) if query else None,
                              secured={STAFF_BEARER: []} if staff else {BEARER: []} if secured else None)
