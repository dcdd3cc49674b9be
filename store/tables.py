"""Table metadata for every capability (SQLAlchemy Core). Migrations in ``store/migrations``
create these tables; a test checks that the two never drift apart."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """A timestamp that is always timezone-aware UTC in Python, on SQLite and PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        # SQLite stores text: keep one fixed format so that comparisons in SQL are correct
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# --- the durable outbox -------------------------------------------------------------
outbox_jobs = sa.Table(
    "outbox_jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
    # pending → done, or pending → dead after max_attempts; dead → pending by a staff retry
    sa.Column("status", sa.String(16), nullable=False, default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("lease_owner", sa.String(100)),
    sa.Column("lease_until", UTCDateTime),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("done_at", UTCDateTime),
    sa.Index("ix_outbox_jobs_due", "status", "next_attempt_at"),
)

# --- the audit log ------------------------------------------------------------------
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target_type", sa.String(64), nullable=False),
    sa.Column("target_id", sa.String(200), nullable=False),
    sa.Column("before", sa.JSON),
    sa.Column("after", sa.JSON),
    sa.Column("details", sa.JSON),
    sa.Index("ix_audit_log_target", "target_type", "target_id"),
)

# --- the guide catalog (owned by assistant/) ------------------------------------------
service_items = sa.Table(
    "service_items",
    metadata,
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("department", sa.String(200), nullable=False, default=""),
    sa.Column("item_type", sa.String(32), nullable=False, default=""),
    # audience is a list in the model; two flags here so that filtering is plain SQL
    sa.Column("for_person", sa.Boolean, nullable=False, default=False),
    sa.Column("for_legal_person", sa.Boolean, nullable=False, default=False),
    sa.Column("level", sa.String(32), nullable=False, default=""),
    sa.Column("district", sa.String(64), nullable=False, default=""),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default="active"),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    # the whole guide as the ServiceItem model dumps it
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_service_items_department", "department"),
)

item_versions = sa.Table(
    "item_versions",
    metadata,
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("changed_at", UTCDateTime, nullable=False),
)

faq_entries = sa.Table(
    "faq_entries",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("question", sa.String(500), nullable=False),
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column("item_codes", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default="active"),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

synonyms = sa.Table(
    "synonyms",
    metadata,
    sa.Column("colloquial", sa.String(100), primary_key=True),
    sa.Column("official", sa.String(100), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default="active"),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# one row per counter; "kb_version" is bumped whenever published knowledge changes
kb_meta = sa.Table(
    "kb_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Integer, nullable=False),
)

# --- search analytics (owned by assistant/search) ----------------------------------------
# personal data is masked before a query is stored
search_queries = sa.Table(
    "search_queries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("query", sa.String(500), nullable=False),
    sa.Column("normalized", sa.String(200), nullable=False),
    sa.Column("result_count", sa.Integer, nullable=False),
    sa.Column("top_code", sa.String(64)),
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("no_good_match", sa.Boolean, nullable=False),
    sa.Column("took_ms", sa.Float, nullable=False),
    sa.Index("ix_search_queries_at", "at"),
)

# --- the assistant's dialogue (owned by assistant/dialogue) --------------------------------
# one row per user and channel; expired rows are treated as absent and overwritten
dialogue_sessions = sa.Table(
    "dialogue_sessions",
    metadata,
    sa.Column("session_key", sa.String(200), primary_key=True),  # "<channel>:<user or session id>"
    sa.Column("state", sa.JSON, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)

# every turn, text masked, with what the answer was built from (for staff and analytics)
chat_turns = sa.Table(
    "chat_turns",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("session_key", sa.String(200), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("text", sa.String(2000), nullable=False),
    sa.Column("intent", sa.String(32), nullable=False),
    sa.Column("aspect", sa.String(16)),
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("sources", sa.JSON, nullable=False),
    sa.Column("reply", sa.Text, nullable=False),
    sa.Column("no_answer", sa.Boolean, nullable=False),
    sa.Column("needs_clarification", sa.Boolean, nullable=False),
    sa.Column("kb_version", sa.Integer, nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("helpful", sa.Boolean),  # the user's feedback, when given
    sa.Column("feedback_reason", sa.String(500)),
    sa.Index("ix_chat_turns_session", "session_key", "id"),
)

# 12345 demand tickets (诉求工单) taken in by the assistant
demand_tickets = sa.Table(
    "demand_tickets",
    metadata,
    sa.Column("number", sa.String(32), primary_key=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("session_key", sa.String(200), nullable=False),
    # the signed-in user who filed it (None when not signed in): they, and the session that filed
    # it, are the only citizens who may ask about it
    sa.Column("user_id", sa.String(32)),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("category_confidence", sa.Float, nullable=False),
    sa.Column("district", sa.String(64)),
    sa.Column("summary", sa.String(200), nullable=False),
    sa.Column("text", sa.String(2000), nullable=False),  # masked
    sa.Column("contact_consent", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # received → assigned → replied → closed
    sa.Column("reply", sa.String(500)),  # the department's answer, shown to the citizen once replied
    sa.Index("ix_demand_tickets_session", "session_key"),
    sa.Index("ix_demand_tickets_user", "user_id"),
)

# --- the WeChat official account (owned by wechat/) ------------------------------------------
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

# --- smart forms (owned by smartform/) ------------------------------------------------------
# the embedded demo base library (人口库, 法人库, 电子证照库): synthetic records generated by us
base_library_records = sa.Table(
    "base_library_records",
    metadata,
    sa.Column("kind", sa.String(16), primary_key=True),  # person, enterprise
    sa.Column("key", sa.String(32), primary_key=True),  # ID number or credit code
    sa.Column("data", sa.JSON, nullable=False),
)

# consent to read base-library fields for one form (授权): nothing is read without a live one
consents = sa.Table(
    "consents",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("item_code", sa.String(64), nullable=False),
    sa.Column("form_version", sa.Integer, nullable=False),
    sa.Column("fields", sa.JSON, nullable=False),  # base-library fields, e.g. "population.name"
    sa.Column("purpose", sa.String(200), nullable=False),
    sa.Column("granted_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime),
    sa.Index("ix_consents_user_item", "user_id", "item_code"),
)

# mini-program users and their server-side sessions (the token itself is never stored, its hash is)
users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("openid", sa.String(128), unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # real-name binding (实名): the ID number encrypted, a keyed hash to find it, the masked form to show
    sa.Column("id_number_cipher", sa.Text),
    # unique: one person is bound to one account at a time
    sa.Column("id_number_hash", sa.String(64), index=True, unique=True),
    sa.Column("id_number_masked", sa.String(32)),
    sa.Column("name_masked", sa.String(32)),
    sa.Column("uscc", sa.String(18)),  # the enterprise a legal-person user acts for
    sa.Column("enterprise_role", sa.String(16)),
    sa.Column("bound_at", UTCDateTime),
    # how the binding was proved: "high" (the identity platform, with face verification), "basic"
    # (the platform without it), "knowledge" (name + ID number only, the rate-limited fallback)
    sa.Column("identity_level", sa.String(16)),
    sa.Column("identity_subject", sa.String(128)),  # the platform's subject id (OIDC ``sub``)
)

# an identity-platform sign-in in progress (OIDC authorization-code flow with PKCE): the state is
# stored as its hash, tied to the user who started it, and used once
identity_authorizations = sa.Table(
    "identity_authorizations",
    metadata,
    sa.Column("state_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(32), nullable=False, index=True),
    sa.Column("nonce", sa.String(64), nullable=False),
    sa.Column("code_verifier", sa.String(128), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("used_at", UTCDateTime),
)

# an enterprise's legal representative lets a verified person act for it (经办人授权), within scopes
# and until a date; revocable at any time. Agents are named by their person (ID-number hash), not by
# account, so a grant follows the person and not whoever holds a phone.
enterprise_grants = sa.Table(
    "enterprise_grants",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("uscc", sa.String(18), nullable=False, index=True),
    sa.Column("agent_id_hash", sa.String(64), nullable=False, index=True),
    sa.Column("agent_name_masked", sa.String(32), nullable=False),
    sa.Column("agent_id_masked", sa.String(32), nullable=False),
    sa.Column("scopes", sa.JSON, nullable=False),
    sa.Column("granted_by", sa.String(32), nullable=False),  # the representative's user id
    sa.Column("granted_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime),
    sa.Column("revoked_by", sa.String(32)),
)

user_sessions = sa.Table(
    "user_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(32), nullable=False, index=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime),
)

# a form being filled in (草稿): saved as the user types, resumable on another device, expiring
drafts = sa.Table(
    "drafts",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("user_id", sa.String(32), nullable=False),
    sa.Column("item_code", sa.String(64), nullable=False),
    sa.Column("form_version", sa.Integer, nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("provenance", sa.JSON, nullable=False),  # field key → population, legal_person, license, earlier_draft, user
    sa.Column("status", sa.String(16), nullable=False),  # open → submitted
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Index("ix_drafts_user_item", "user_id", "item_code"),
)

attachments = sa.Table(
    "attachments",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("draft_id", sa.String(32), nullable=False, index=True),
    sa.Column("key", sa.String(48), nullable=False),  # the form's attachment key
    sa.Column("filename", sa.String(200), nullable=False),
    sa.Column("file_type", sa.String(8), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),  # the file is stored under its hash
    sa.Column("created_at", UTCDateTime, nullable=False),
)

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

# the user's message centre (消息中心)
user_messages = sa.Table(
    "user_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("title", sa.String(100), nullable=False),
    sa.Column("body", sa.String(1000), nullable=False),
    sa.Column("ref", sa.String(64)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("read_at", UTCDateTime),
    sa.Index("ix_user_messages_user", "user_id", "id"),
)

# subscribe-message consents (订阅消息): one-time ones are used up one message each
subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(32), nullable=False),
    sa.Column("template_id", sa.String(64), nullable=False),
    sa.Column("scene", sa.String(32), nullable=False),  # application_status, policy_match, …
    sa.Column("long_term", sa.Boolean, nullable=False),
    sa.Column("remaining", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_subscriptions_user_scene", "user_id", "scene"),
)

# --- the mini-program's own records (owned by miniapp_api/ services) ----------------------------
# good/bad evaluations (好差评) of an application or of an assistant answer
evaluations = sa.Table(
    "evaluations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(32), nullable=False),
    sa.Column("target_type", sa.String(16), nullable=False),  # application, answer
    sa.Column("target_id", sa.String(32), nullable=False),
    sa.Column("item_code", sa.String(64)),
    sa.Column("department", sa.String(200)),
    sa.Column("stars", sa.Integer, nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("comment", sa.String(500)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("user_id", "target_type", "target_id", name="uq_evaluations_once"),
    sa.Index("ix_evaluations_item", "item_code", "created_at"),
)

# a bad rating opens a follow-up task (差评整改) that staff must answer by its deadline
followup_tasks = sa.Table(
    "followup_tasks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("evaluation_id", sa.Integer, nullable=False, unique=True),
    sa.Column("status", sa.String(16), nullable=False),  # open → answered
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("reply", sa.String(1000)),
    sa.Column("answered_at", UTCDateTime),
)

# --- the policy knowledge graph (政策法规图谱, owned by policy_graph/) --------------------------------
# a node: policy document, clause, policy item, department, service item, industry, qualification,
# district. Its content lives in versions; published versions are never changed.
policy_nodes = sa.Table(
    "policy_nodes",
    metadata,
    sa.Column("id", sa.String(80), primary_key=True),  # "item:cd-gx-001", "document:…", "qualification:…"
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # draft (never published), published, retired
    sa.Column("published_version", sa.Integer),
    sa.Column("latest_version", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_policy_nodes_kind", "kind", "status"),
)

# draft → in_review → approved → published → superseded; in_review → draft when sent back
policy_node_versions = sa.Table(
    "policy_node_versions",
    metadata,
    sa.Column("node_id", sa.String(80), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),  # the kind's attributes (文号, issuer, benefit, window, …)
    sa.Column("edges", sa.JSON, nullable=False),  # outgoing edges as authored: [{"kind", "dst"}]
    sa.Column("valid_from", sa.Date),
    sa.Column("valid_to", sa.Date),
    sa.Column("revision", sa.Integer, nullable=False),  # a draft's edit counter: stale edits are refused
    sa.Column("author", sa.String(64), nullable=False),  # who saved the latest revision
    # who saved each revision, [{"revision", "author"}]: nobody who saved one may review or publish it
    sa.Column("revision_authors", sa.JSON, nullable=False),
    sa.Column("reviewer", sa.String(64)),
    sa.Column("review_comment", sa.String(500)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("published_at", UTCDateTime),
)

# the edges of published versions, for graph queries in both directions
policy_edges = sa.Table(
    "policy_edges",
    metadata,
    sa.Column("src", sa.String(80), primary_key=True),
    sa.Column("kind", sa.String(24), primary_key=True),
    sa.Column("dst", sa.String(80), primary_key=True),
    sa.Index("ix_policy_edges_dst", "dst", "kind"),
)

# an item version's condition tree, one row per node in reading order (parent: a row's position)
policy_conditions = sa.Table(
    "policy_conditions",
    metadata,
    sa.Column("node_id", sa.String(80), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("parent", sa.Integer),
    sa.Column("kind", sa.String(8), nullable=False),  # all, any, not, atom, ref
    sa.Column("fact", sa.String(64)),
    sa.Column("op", sa.String(16)),
    sa.Column("value", sa.JSON),
    sa.Column("param", sa.String(80)),
    sa.Column("ref", sa.String(80)),
    sa.Column("clause", sa.String(80)),
    sa.Column("label", sa.String(200)),
)

# thresholds that change by year (年度参数), each value with its legal basis
policy_parameters = sa.Table(
    "policy_parameters",
    metadata,
    sa.Column("key", sa.String(80), primary_key=True),
    sa.Column("valid_from", sa.Date, primary_key=True),
    sa.Column("valid_to", sa.Date),
    sa.Column("fact_type", sa.String(8), nullable=False),
    sa.Column("value", sa.JSON, nullable=False),
    sa.Column("legal_basis", sa.String(300), nullable=False),
)

# what we know about an enterprise, dated and sourced; a fact that is absent is unknown
enterprise_facts = sa.Table(
    "enterprise_facts",
    metadata,
    sa.Column("uscc", sa.String(18), primary_key=True),
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("as_of", sa.Date, primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("authoritative", sa.Boolean, nullable=False),
    sa.Column("loaded_at", UTCDateTime, nullable=False),
)

# the verdict of each enterprise on each published item, with what it was computed from: a pair
# is recomputed only when the item's version or the enterprise's facts change
policy_matches = sa.Table(
    "policy_matches",
    metadata,
    sa.Column("item_id", sa.String(80), primary_key=True),
    sa.Column("uscc", sa.String(18), primary_key=True),
    sa.Column("item_version", sa.Integer, nullable=False),
    sa.Column("facts_hash", sa.String(64), nullable=False),
    sa.Column("verdict", sa.String(8), nullable=False),  # true, false, unknown
    sa.Column("computed_at", UTCDateTime, nullable=False),
    sa.Index("ix_policy_matches_uscc", "uscc", "verdict"),
)

# policy pushes (精准推送): one row per enterprise and item and kind (a push, or a prompt to
# supply facts), so that nothing is pushed to the same enterprise for the same item twice
policy_pushes = sa.Table(
    "policy_pushes",
    metadata,
    sa.Column("uscc", sa.String(18), primary_key=True),
    sa.Column("item_id", sa.String(80), primary_key=True),
    sa.Column("kind", sa.String(8), primary_key=True),  # push, prompt
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("outcome", sa.String(200), nullable=False),  # who was told, and how
)

# users who asked not to be sent policy pushes (they still see matches in the mini-program)
policy_push_optouts = sa.Table(
    "policy_push_optouts",
    metadata,
    sa.Column("user_id", sa.String(32), primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False),
)

# --- staff (the console) -------------------------------------------------------------------
staff_accounts = sa.Table(
    "staff_accounts",
    metadata,
    sa.Column("username", sa.String(32), primary_key=True),
    sa.Column("display_name", sa.String(50), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),  # editor, reviewer, approver, admin
    sa.Column("password_hash", sa.String(200), nullable=False),  # argon2id, salt and parameters included
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("last_login_at", UTCDateTime),
)

# a signed-in staff member: the cookie or bearer token is stored as its SHA-256, with the CSRF
# token its forms must carry
staff_sessions = sa.Table(
    "staff_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(32), nullable=False, index=True),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime),
)

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

# a guide being edited in the console (办事指南草稿): the whole item as the editor left it, based on
# the catalog version it was opened at, published into service_items by a reviewer
guide_drafts = sa.Table(
    "guide_drafts",
    metadata,
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("base_version", sa.Integer),  # None: a new item
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("author", sa.String(32), nullable=False),  # who saved the latest revision
    # who saved each revision, [{"revision", "author"}]: nobody who saved one may publish the draft
    sa.Column("revision_authors", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# unanswered questions staff have dealt with (turned into an FAQ or a synonym, or set aside), by
# the hash of their normalised text, so that they leave the unanswered list
unanswered_handled = sa.Table(
    "unanswered_handled",
    metadata,
    sa.Column("text_hash", sa.String(64), primary_key=True),
    sa.Column("outcome", sa.String(16), nullable=False),  # faq, synonym, dismissed
    sa.Column("target", sa.String(200)),  # the FAQ id or the synonym created
    sa.Column("actor", sa.String(32), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
)
