"""identity from the identity platform, enterprise grants, atomic throttles

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 15:50:00
"""
from alembic import op
import sqlalchemy as sa
import store.tables.base


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('attempt_counters',
    sa.Column('scope', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('next_at', store.tables.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_success_at', store.tables.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('scope', 'key', name=op.f('pk_attempt_counters'))
    )
    op.create_table('identity_authorizations',
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('code_verifier', sa.String(length=128), nullable=False),
    sa.Column('created_at', store.tables.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', store.tables.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', store.tables.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('state_hash', name=op.f('pk_identity_authorizations'))
    )
    with op.batch_alter_table('identity_authorizations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_authorizations_user_id'), ['user_id'], unique=False)
    op.create_table('enterprise_grants',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('agent_id_hash', sa.String(length=64), nullable=False),
    sa.Column('agent_name_masked', sa.String(length=32), nullable=False),
    sa.Column('agent_id_masked', sa.String(length=32), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('granted_by', sa.String(length=32), nullable=False),
    sa.Column('granted_at', store.tables.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', store.tables.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', store.tables.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enterprise_grants'))
    )
    with op.batch_alter_table('enterprise_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enterprise_grants_uscc'), ['uscc'], unique=False)
        batch_op.create_index(batch_op.f('ix_enterprise_grants_agent_id_hash'), ['agent_id_hash'], unique=False)

    # one person, one account: where several accounts were bound to one person (possible before this
    # revision, by knowing a name and an ID number), only the most recent binding stays
    bind = op.get_bind()
    users = sa.table('users', sa.column('id'), sa.column('id_number_hash'), sa.column('bound_at'))
    seen: set[str] = set()
    for row in bind.execute(sa.select(users.c.id, users.c.id_number_hash)
                            .where(users.c.id_number_hash.is_not(None)).order_by(users.c.bound_at.desc())):
        if row.id_number_hash in seen:
            bind.execute(sa.text(
                "UPDATE users SET id_number_cipher = NULL, id_number_hash = NULL, id_number_masked = NULL, "
                "name_masked = NULL, bound_at = NULL, uscc = NULL, enterprise_role = NULL WHERE id = :id"),
                {"id": row.id})
        seen.add(row.id_number_hash)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('identity_level', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('identity_subject', sa.String(length=128), nullable=True))
        batch_op.drop_index(batch_op.f('ix_users_id_number_hash'))
        batch_op.create_index(batch_op.f('ix_users_id_number_hash'), ['id_number_hash'], unique=True)
    # bindings made before this revision proved knowledge of a name and an ID number, nothing more
    bind.execute(sa.text("UPDATE users SET identity_level = 'knowledge' WHERE bound_at IS NOT NULL"))

    with op.batch_alter_table('staff_login_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_staff_login_attempts_username')
        batch_op.drop_index('ix_staff_login_attempts_ip')
    op.drop_table('staff_login_attempts')
    with op.batch_alter_table('binding_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_binding_attempts_user')
    op.drop_table('binding_attempts')


def downgrade() -> None:
    op.create_table('binding_attempts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('at', store.tables.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_binding_attempts'))
    )
    with op.batch_alter_table('binding_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_binding_attempts_user', ['user_id', 'at'], unique=False)
    op.create_table('staff_login_attempts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', store.tables.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('username', sa.String(length=32), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_login_attempts'))
    )
    with op.batch_alter_table('staff_login_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_staff_login_attempts_ip', ['ip', 'at'], unique=False)
        batch_op.create_index('ix_staff_login_attempts_username', ['username', 'at'], unique=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_id_number_hash'))
        batch_op.create_index(batch_op.f('ix_users_id_number_hash'), ['id_number_hash'], unique=False)
        batch_op.drop_column('identity_subject')
        batch_op.drop_column('identity_level')
    with op.batch_alter_table('enterprise_grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enterprise_grants_agent_id_hash'))
        batch_op.drop_index(batch_op.f('ix_enterprise_grants_uscc'))
    op.drop_table('enterprise_grants')
    with op.batch_alter_table('identity_authorizations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_authorizations_user_id'))
    op.drop_table('identity_authorizations')
    op.drop_table('attempt_counters')
