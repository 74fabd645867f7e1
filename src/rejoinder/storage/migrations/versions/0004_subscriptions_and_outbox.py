"""subscriptions and outbox: reader notifications and their delivery (issue 4)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:34:06.937198
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rejoinder.storage.tables


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('created_at', rejoinder.storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', rejoinder.storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', rejoinder.storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', rejoinder.storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('failed_at', rejoinder.storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbox_dedupe_key'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_due', ['sent_at', 'failed_at', 'next_attempt_at'], unique=False)

    op.create_table('subscriptions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('thread_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('comment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('confirmed_at', rejoinder.storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', rejoinder.storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('unsubscribed_at', rejoinder.storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['comment_id'], ['comments.id'], name=op.f('fk_subscriptions_comment_id_comments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_subscriptions_site_id_sites'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], name=op.f('fk_subscriptions_thread_id_threads'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_subscriptions_token_hash'))
    )
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscriptions_comment_id'), ['comment_id'], unique=False)
        batch_op.create_index('ix_subscriptions_site_email', ['site_id', 'email'], unique=False)
        batch_op.create_index('ix_subscriptions_thread_kind', ['thread_id', 'kind'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index('ix_subscriptions_thread_kind')
        batch_op.drop_index('ix_subscriptions_site_email')
        batch_op.drop_index(batch_op.f('ix_subscriptions_comment_id'))

    op.drop_table('subscriptions')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_due')

    op.drop_table('outbox')

