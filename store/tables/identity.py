"""Mini-program identity (owned by smartform/ and miniapp_api/): users and their real-name binding,
sign-ins at the identity platform in progress, enterprise grants (经办人授权) and user sessions."""

from __future__ import annotations

import sqlalchemy as sa

from store.tables.base import UTCDateTime, metadata

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
