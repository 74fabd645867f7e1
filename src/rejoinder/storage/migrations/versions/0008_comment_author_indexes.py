"""comments by author: indexes for the per-post flood, duplicate and first-comment checks

Every post asks for the author's latest comments on the site (by hashed address or account) and
whether the author has a published one. Without these indexes both searched all of the site's
comments (EXPLAIN: `ix_comments_site_status (site_id=?)` plus a temporary B-tree for the order),
so posting slowed in proportion to the site's archive: fine for a blog, seconds a post at
millions of comments.

Status is the last column so that the first-comment check (site, author, status = published)
matches three columns and is preferred over ix_comments_site_status by SQLite's planner, which
has no statistics; the latest comments are then sorted in memory (one author's, so few).

On PostgreSQL the indexes are built CONCURRENTLY (outside the migration's transaction), so a
large live table keeps taking writes while they build.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 15:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    'ix_comments_site_ip': ['site_id', 'ip_hash', 'status'],
    'ix_comments_author': ['author_id', 'site_id', 'status'],
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
