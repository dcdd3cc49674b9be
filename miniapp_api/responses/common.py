"""What the answers of several domains share: the strict configuration, pagination, ``{"ok": true}``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


def strict(example: dict[str, Any] | None = None) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"example": example} if example else None)


class Paged(BaseModel):
    page: int
    page_size: int
    total: int


class Ok(BaseModel):
    model_config = strict({"ok": True})
    ok: Literal[True]
