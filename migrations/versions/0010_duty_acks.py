"""duty acks: the person on duty said "Đã nhận" to their reminder, and when; reinforced periods
added by command (/themtangcuong) name their units and carry a note

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "duty_acks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shift_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("acked_at", sa.DateTime(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["shift_id"], ["duty_shifts.id"], name=op.f("fk_duty_acks_shift_id_duty_shifts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_duty_acks_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_acks")),
        sa.UniqueConstraint("shift_id", "member_id", name=op.f("uq_duty_acks_shift_id_member_id")),
    )
    op.create_index(op.f("ix_duty_acks_shift_id"), "duty_acks", ["shift_id"], unique=False)
    with op.batch_alter_table("readiness_periods") as batch:
        batch.add_column(sa.Column("unit_ids", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("readiness_periods") as batch:
        batch.drop_column("note")
        batch.drop_column("unit_ids")
    op.drop_index(op.f("ix_duty_acks_shift_id"), table_name="duty_acks")
    op.drop_table("duty_acks")
