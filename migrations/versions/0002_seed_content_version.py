"""seed the content version row

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    versions = sa.table("content_versions", sa.column("id", sa.Integer), sa.column("version", sa.BigInteger))
    op.bulk_insert(versions, [{"id": 1, "version": 0}])


def downgrade() -> None:
    op.execute("DELETE FROM content_versions WHERE id = 1")
