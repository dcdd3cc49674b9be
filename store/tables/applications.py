"""Submitted applications (owned by smartform/): the applications, their status events, and the
embedded approval back end's queue."""

from __future__ import annotations

import sqlalchemy as sa

from store.tables.base import UTCDateTime, metadata

# a submitted application (申请) and what happened to it
applications = sa.Table(
    "applications",
    metadata,
    sa.Column("number", sa.String(16), primary_key=True),  # SQ + 14 digits
    sa.Column("draft_id", sa.String(32), nullable=False, unique=True),  # a draft is submitted once
    sa.Column("user_id", sa.String(32), nullable=False, index=True),
    sa.Column("item_code", sa.String(64), nullable=False),
    sa.Column("item_name", sa.String(200), nullable=False),
    sa.Column("item_version", sa.Integer, nullable=False),  # the guide version applied under
    sa.Column("form_version", sa.Integer, nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("attachments", sa.JSON, nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("submitted_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

application_events = sa.Table(
    "application_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("number", sa.String(16), nullable=False, index=True),
    sa.Column("event_id", sa.String(64), nullable=False),  # the reporter's id: a resend is ignored
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("note", sa.String(500)),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("source", sa.String(32), nullable=False),  # us, approval, workbench
    # a back end may number its events per application ("1" for A and "1" for B): unique together.
    # Named here because the naming convention would name it after its first column only
    sa.UniqueConstraint("number", "event_id", name="uq_application_events_number_event_id"),
)

# the embedded approval back end: applications waiting for staff in the console's workbench
approval_queue = sa.Table(
    "approval_queue",
    metadata,
    sa.Column("number", sa.String(16), primary_key=True),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
)
