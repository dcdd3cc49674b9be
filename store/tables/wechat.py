"""The WeChat official account (owned by wechat/): callback messages, followers, the access token
and every outbound send."""

from __future__ import annotations

import sqlalchemy as sa

from store.tables.base import UTCDateTime, metadata

# one row per callback message, keyed by MsgId (events: user + CreateTime + event). It is how every
# worker of every process knows a retry when it sees one, and what the first delivery answered.
wechat_messages = sa.Table(
    "wechat_messages",
    metadata,
    sa.Column("dedupe_key", sa.String(200), primary_key=True),
    sa.Column("openid", sa.String(128), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # processing → answered
    # passive: the answer is the callback's reply; late: the callback said "success" and the answer
    # goes out as a customer-service message through the outbox
    sa.Column("mode", sa.String(16), nullable=False),
    # the parsed message, kept only until it is answered (so another worker can answer it in place
    # of one that died); then the rendered reply, so that a retry gets exactly the same one
    sa.Column("message", sa.JSON),
    sa.Column("reply", sa.JSON),
    sa.Column("owner", sa.String(100), nullable=False),
    sa.Column("lease_until", UTCDateTime, nullable=False),  # renewed while the owner is working
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("answered_at", UTCDateTime),
    sa.Column("delivered_at", UTCDateTime),  # when a late answer reached the customer-service API
    sa.Index("ix_wechat_messages_received_at", "received_at"),
)

# per follower: the numbered options of the last reply (so "2" means what the user saw) and the
# customer-service window (客服消息 may be sent for a while after the user's last interaction)
wechat_users = sa.Table(
    "wechat_users",
    metadata,
    sa.Column("openid", sa.String(128), primary_key=True),
    sa.Column("subscribed", sa.Boolean, nullable=False),
    sa.Column("options", sa.JSON, nullable=False),
    sa.Column("last_seen_at", UTCDateTime, nullable=False),
    sa.Column("service_window_until", UTCDateTime, nullable=False),
    sa.Column("service_quota_left", sa.Integer, nullable=False),
)

# the access token, shared by every worker; the lease names the one worker that may refresh it
wechat_tokens = sa.Table(
    "wechat_tokens",
    metadata,
    sa.Column("appid", sa.String(64), primary_key=True),
    sa.Column("access_token", sa.String(1024)),
    sa.Column("expires_at", UTCDateTime),
    sa.Column("lease_owner", sa.String(100)),
    sa.Column("lease_until", UTCDateTime),
    sa.Column("budget_day", sa.String(10), nullable=False),  # the China-time day fetches are counted for
    sa.Column("fetches_today", sa.Integer, nullable=False),
)

# every outbound WeChat message attempt and its outcome (openids only; content is not kept)
wechat_sends = sa.Table(
    "wechat_sends",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),  # custom, template, subscribe
    sa.Column("openid", sa.String(128), nullable=False),
    sa.Column("idempotency_key", sa.String(200), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),  # sent, retry, refused
    sa.Column("errcode", sa.Integer),
    sa.Column("errmsg", sa.String(500)),
    sa.Index("ix_wechat_sends_key", "idempotency_key"),
)
