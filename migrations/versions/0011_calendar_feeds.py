"""calendar feeds: secret /ical/<token>.ics addresses for phone calendars

One row per address handed out by /ical: whose it is, what it covers (the owner's own concerns, one
unit, the whole cluster), and when it was revoked (/ical mới).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_calendar_feeds_member_id_members")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_calendar_feeds_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("token", name=op.f("uq_calendar_feeds_token")),
    )
    op.create_index(op.f("ix_calendar_feeds_owner"), "calendar_feeds", ["owner"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_calendar_feeds_owner"), table_name="calendar_feeds")
    op.drop_table("calendar_feeds")
