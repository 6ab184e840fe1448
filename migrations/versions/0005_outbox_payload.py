"""outbox payload: a notice is stored as its kind and structured facts, rendered at send time

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # batch mode: SQLite cannot ALTER a column's nullability in place
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("notice", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        batch.alter_column("text", existing_type=sa.Text(), nullable=True)


def downgrade() -> None:
    # the old schema needs a text: rows that only have a payload get an empty one
    op.execute("UPDATE outbox SET text = '' WHERE text IS NULL")
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("text", existing_type=sa.Text(), nullable=False)
        batch.drop_column("payload")
        batch.drop_column("notice")
