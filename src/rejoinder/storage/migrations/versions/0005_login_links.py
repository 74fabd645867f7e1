"""login links: sign in by email magic link (issue 4)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rejoinder.storage.tables


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('login_links',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', rejoinder.storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', rejoinder.storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', rejoinder.storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_login_links_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_login_links_token_hash'))
    )
    with op.batch_alter_table('login_links', schema=None) as batch_op:
        batch_op.create_index('ix_login_links_site_email', ['site_id', 'email'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('login_links', schema=None) as batch_op:
        batch_op.drop_index('ix_login_links_site_email')

    op.drop_table('login_links')
