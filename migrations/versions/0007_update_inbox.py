"""update inbox: webhook updates taken (200 given) and not yet answered

A Zalo webhook call is answered 200 as soon as its update is stored here, and the update is answered
in the background; the row is deleted once it was. Rows a crashed process left behind are taken
again and answered by the next process or another replica (bot/channels/seen.py).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("update_key", sa.String(length=120), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("taken_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_updates")),
        sa.UniqueConstraint("channel", "update_key", name=op.f("uq_inbox_updates_channel_update_key")),
    )
    op.create_index(op.f("ix_inbox_updates_taken_at"), "inbox_updates", ["taken_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_inbox_updates_taken_at"), table_name="inbox_updates")
    op.drop_table("inbox_updates")
