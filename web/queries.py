"""Reading a request's query arguments, validated by a pydantic model."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError
from sanic import Request

from web.errors import ApiError


def parse_query(model: type[BaseModel], request: Request) -> Any:
    """Validate query arguments with a pydantic model; 400 with per-field details otherwise."""
    raw = {key: values[-1] for key, values in request.args.items()}
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ApiError(400, "invalid_request", "请求参数不正确", details=[
            {"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"]} for err in exc.errors()
        ]) from None
