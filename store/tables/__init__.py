"""Table metadata for every capability (SQLAlchemy Core), one module per domain; the shared
``metadata`` is in ``store.tables.base``. Importing this package imports every domain module, so that
``metadata`` is complete whenever any table module is imported (alembic and the schema test compare it
with the migrations)."""

from __future__ import annotations

from store.tables import (
    applications,
    audit,
    catalog,
    console,
    dialogue,
    evaluations,
    forms,
    identity,
    messages,
    outbox,
    policy_graph,
    search,
    staff,
    throttles,
    wechat,
)

__all__ = [
    "applications",
    "audit",
    "catalog",
    "console",
    "dialogue",
    "evaluations",
    "forms",
    "identity",
    "messages",
    "outbox",
    "policy_graph",
    "search",
    "staff",
    "throttles",
    "wechat",
]
