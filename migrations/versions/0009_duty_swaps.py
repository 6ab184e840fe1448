"""duty swaps: an officer's shift offered to a colleague (or to anyone of the unit), agreed, approved

One row per request, from asked to approved, refused, rejected or expired; and a unit setting saying
whether its commander approves (else the cluster's admins).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "duty_swaps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("shift_id", sa.Integer(), nullable=False),
        sa.Column("other_shift_id", sa.Integer(), nullable=True),
        sa.Column("requester_member_id", sa.Integer(), nullable=False),
        sa.Column("target_member_id", sa.Integer(), nullable=True),
        sa.Column("approver_member_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_duty_swaps_unit_id_units")),
        sa.ForeignKeyConstraint(["shift_id"], ["duty_shifts.id"], name=op.f("fk_duty_swaps_shift_id_duty_shifts")),
        sa.ForeignKeyConstraint(
            ["other_shift_id"], ["duty_shifts.id"], name=op.f("fk_duty_swaps_other_shift_id_duty_shifts")
        ),
        sa.ForeignKeyConstraint(
            ["requester_member_id"], ["members.id"], name=op.f("fk_duty_swaps_requester_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["target_member_id"], ["members.id"], name=op.f("fk_duty_swaps_target_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["approver_member_id"], ["members.id"], name=op.f("fk_duty_swaps_approver_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_swaps")),
    )
    op.create_index("ix_duty_swaps_status_expires", "duty_swaps", ["status", "expires_at"])
    op.add_column("units", sa.Column("swap_approver", sa.String(length=20), nullable=True))


def downgrade() -> None:
    # A plain ALTER TABLE on SQLite too (3.35+): a batch copy of units would trip its foreign keys.
    op.drop_column("units", "swap_approver")
    op.drop_index("ix_duty_swaps_status_expires", table_name="duty_swaps")
    op.drop_table("duty_swaps")
