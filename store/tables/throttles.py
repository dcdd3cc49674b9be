"""Attempt counters of store/throttle.py (staff sign-in, real-name binding)."""

from __future__ import annotations

import sqlalchemy as sa

from store.tables.base import UTCDateTime, metadata

# attempt counters of store/throttle.py (staff sign-in, real-name binding), one row per scope and
# key: how many failures, and when the key may try again
attempt_counters = sa.Table(
    "attempt_counters",
    metadata,
    sa.Column("scope", sa.String(32), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("next_at", UTCDateTime, nullable=False),
    sa.Column("last_success_at", UTCDateTime),
)
