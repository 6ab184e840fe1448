"""send slots: the platform limits of a bot token, shared by every replica

One row per limit (a token's overall rate, one chat's own limit): the moment, in seconds since the
epoch by the database's clock, from which the next message may go. A replica reserves a slot by
moving it forward in one atomic statement (bot/delivery.py, ``DatabaseSlots``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "send_slots",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_send_slots")),
    )


def downgrade() -> None:
    op.drop_table("send_slots")
