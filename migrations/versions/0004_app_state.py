"""app state: facts about the database as a whole (the demo's clock)

A database that already holds the demo cluster (CTD2-2022) is marked as the demo, so `./run.sh` on it
answers as of the demo's day from now on.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "app_state",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_app_state")),
    )
    op.execute(
        "INSERT INTO app_state (key, value) SELECT 'demo_clock', '2022-06-22 10:00' "
        "WHERE EXISTS (SELECT 1 FROM clusters WHERE key = 'CTD2-2022')"
    )


def downgrade() -> None:
    op.drop_table("app_state")
