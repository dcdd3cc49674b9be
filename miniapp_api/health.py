"""``/healthz`` (the process is up) and ``/readyz`` (the database answers and which indexes are
still building)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from miniapp_api.responses.health import Health
from miniapp_api.responses.health import Readiness as ReadinessAnswer
from store.database import DatabaseUnavailable
from web.docs import documented

bp = Blueprint("health")


@dataclass
class Readiness:
    """Components that build in the background report their progress here."""

    components: dict[str, dict[str, Any]] = field(default_factory=dict)

    def report(self, name: str, *, ready: bool, **progress: Any) -> None:
        self.components[name] = {"ready": ready, **progress}

    def enabled(self, name: str) -> bool:
        """False only when ``name`` reported itself switched off (``enabled=False``)."""
        return self.components.get(name, {}).get("enabled", True) is not False

    @property
    def building(self) -> list[str]:
        return [name for name, state in self.components.items() if not state["ready"]]


@bp.get("/healthz")
@documented(response=Health, errors=(), limited=False)
async def healthz(request: Request) -> HTTPResponse:
    return json({"status": "ok"})


@bp.get("/readyz")
@documented(response=ReadinessAnswer, errors=(), limited=False,
            other={503: ("not ready yet: what is still building, or the database is down", ReadinessAnswer)})
async def readyz(request: Request) -> HTTPResponse:
    ctx = request.app.ctx
    try:
        await ctx.db.check()
        database: dict[str, Any] = {"ready": True}
    except DatabaseUnavailable as exc:
        database = {"ready": False, "reason": str(exc)}
    readiness: Readiness = ctx.readiness
    ready = database["ready"] and not readiness.building
    body = {
        "status": "ready" if ready else "not_ready",
        "database": database,
        "components": readiness.components,
        "building": readiness.building,
        "kb_version": await ctx.catalog.kb_version() if database["ready"] else None,
    }
    return json(body, status=200 if ready else 503)
