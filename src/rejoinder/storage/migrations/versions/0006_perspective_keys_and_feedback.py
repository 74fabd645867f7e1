"""perspective-compatible service: API keys and moderator feedback (issue 9)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rejoinder.storage.tables


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('perspective_keys',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('qps', sa.Integer(), nullable=False),
    sa.Column('daily_quota', sa.Integer(), nullable=False),
    sa.Column('created_at', rejoinder.storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', rejoinder.storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_perspective_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_perspective_keys_key_hash')),
    sa.UniqueConstraint('name', name=op.f('uq_perspective_keys_name'))
    )
    op.create_table('perspective_feedback',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('key_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('client_token', sa.String(length=200), nullable=False),
    sa.Column('community_id', sa.String(length=500), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('toxic', sa.SmallInteger(), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('created_at', rejoinder.storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', rejoinder.storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['key_id'], ['perspective_keys.id'], name=op.f('fk_perspective_feedback_key_id_perspective_keys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_perspective_feedback')),
    sa.UniqueConstraint('key_id', 'client_token', name=op.f('uq_perspective_feedback_key_id_client_token'))
    )


def downgrade() -> None:
    op.drop_table('perspective_feedback')
    op.drop_table('perspective_keys')
