"""comments by author, newest first: indexes for the flood and duplicate checks

Migration 0008 let the per-post author checks find the author's comments by index, but its
indexes end in `status`, so "the author's 20 latest comments" still read every comment of the
author and sorted them (SQLite: `USE TEMP B-TREE FOR ORDER BY`). For a prolific author, or a
flood from one address, each post then cost time in proportion to the author's history: under
the posting benchmark (every post from one address) this query was a sixth of the server's time.

These indexes end in `id`, so the latest comments are the last entries of the author's range
and the query stops after 20. The 0008 indexes stay for the first-comment check (site, author,
status = published), which would otherwise walk an author's held comments one by one.

Built CONCURRENTLY on PostgreSQL, as in 0008.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 17:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    'ix_comments_site_ip_recent': ['site_id', 'ip_hash', 'id'],
    'ix_comments_author_recent': ['author_id', 'site_id', 'id'],
}


def upgrade() -> None:
    if op.get_context().dialect.name == 'postgresql':
        with op.get_context().autocommit_block():
            for name, columns in INDEXES.items():
                op.create_index(name, 'comments', columns, postgresql_concurrently=True,
                                if_not_exists=True)
    else:
        for name, columns in INDEXES.items():
            op.create_index(name, 'comments', columns, if_not_exists=True)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name='comments')
