"""bans reach signed-in accounts, not only addresses

A ban was kept by the author's IP hash alone, so a signed-in reader whom a moderator banned
posted again, published, from another address (found by a contract audit). A ban made from a
comment of a signed-in author now records the account too (`author_id`), and the posting check
matches either. The column is nullable (guests have no account) and indexed per site for that
check.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 19:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode: on SQLite Alembic cannot add a foreign key by ALTER, so the (small) bans table
    # is copied; on PostgreSQL this is a plain ALTER TABLE ADD COLUMN.
    with op.batch_alter_table('bans') as batch:
        batch.add_column(sa.Column(
            'author_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch.create_foreign_key('fk_bans_author_id_users', 'users', ['author_id'], ['id'],
                                 ondelete='CASCADE')
        batch.create_index('ix_bans_site_author', ['site_id', 'author_id'])


def downgrade() -> None:
    with op.batch_alter_table('bans') as batch:
        batch.drop_index('ix_bans_site_author')
        batch.drop_constraint('fk_bans_author_id_users', type_='foreignkey')
        batch.drop_column('author_id')
