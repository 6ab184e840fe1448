"""an index on duty_shifts.duty_date: every unit's shifts of some days in one indexed read

Duty questions about the weeks around today are answered from those weeks' shifts of every unit, read
once per content version (bot/services/duty.py, RosterWindow); without this index that read scanned
the whole table (100,000 shifts: 13 ms on SQLite instead of about 1).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_duty_shifts_date", "duty_shifts", ["duty_date"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_duty_shifts_date", table_name="duty_shifts")
