"""The service's health and readiness."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from miniapp_api.responses.common import strict


class Health(BaseModel):
    model_config = strict({"status": "ok"})
    status: Literal["ok"]


class Readiness(BaseModel):
    model_config = strict({"status": "ready", "database": {"ready": True}, "building": [], "kb_version": 12,
                            "components": {"search": {"ready": True, "items": 80}}})
    status: Literal["ready", "not_ready"]
    database: dict[str, Any]
    components: dict[str, dict[str, Any]]
    building: list[str]
    kb_version: int | None
