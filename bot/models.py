"""The data model (SQLAlchemy 2). Every timestamp is stored in UTC; dates are calendar dates in the
cluster's time zone (a duty day, a due date)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in Python, naive UTC in the database (same on SQLite and PostgreSQL)."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Points(TypeDecorator[Decimal]):
    """Emulation points with two decimals, stored exactly as an integer count of hundredths."""

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value: Decimal | float | int | None, dialect: Any) -> int | None:
        if value is None:
            return None
        return int((Decimal(str(value)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))

    def process_result_value(self, value: int | None, dialect: Any) -> Decimal | None:
        return None if value is None else (Decimal(value) / 100).quantize(Decimal("0.01"))


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}  # noqa: RUF012


# --- Organisation -----------------------------------------------------------------------------------


class Unit(Base):
    """A military unit or an administrative area's command: Bộ CHQS tỉnh, Ban CHQS huyện, a trung
    đoàn, or a commune (xã / phường / thị trấn) under its district."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30))  # province_command / district_command / regiment / commune
    area_type: Mapped[str | None] = mapped_column(String(20))  # huyen, thi_xa, thanh_pho, xa, phuong, thi_tran
    gso_code: Mapped[str | None] = mapped_column(String(10), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    aliases: Mapped[list[Any]] = mapped_column(default=list)
    duty_handover: Mapped[time | None] = mapped_column(Time)
    # Who approves a duty swap in this unit: None (the cluster's admins) or "commander" (its Chỉ huy trưởng).
    swap_approver: Mapped[str | None] = mapped_column(String(20))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    parent: Mapped[Unit | None] = relationship(remote_side=[id], lazy="raise")


class Cluster(Base):
    """One emulation cluster for one year (cụm thi đua số 2 năm 2022)."""

    __tablename__ = "clusters"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    number: Mapped[int | None]
    year: Mapped[int]
    theme: Mapped[str | None] = mapped_column(Text)
    superior_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    # [[minimum total, grade], ...] from the highest grade down; the cluster's own rubric.
    grade_thresholds: Mapped[list[Any]] = mapped_column(default=list)
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)


class ClusterMember(Base):
    __tablename__ = "cluster_members"
    __table_args__ = (UniqueConstraint("cluster_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    role: Mapped[str] = mapped_column(String(20), default="member")  # head / deputy / member
    decision_ref: Mapped[str | None] = mapped_column(String(200))
    sort: Mapped[int] = mapped_column(default=0)


class Member(Base):
    """A person: an officer who uses the bot, someone named on a roster, or both."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str | None] = mapped_column(String(60), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    rank: Mapped[str | None] = mapped_column(String(40))
    position: Mapped[str | None] = mapped_column(String(120))
    position_short: Mapped[str | None] = mapped_column(String(40))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(30))
    role: Mapped[str | None] = mapped_column(String(20))  # admin / officer / None (named only)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChatLink(Base):
    """A chat the bot talks to: a person's private chat or a group, on one channel."""

    __tablename__ = "chat_links"
    __table_args__ = (UniqueConstraint("channel", "chat_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    chat_type: Mapped[str] = mapped_column(String(10))  # private / group
    title: Mapped[str | None] = mapped_column(String(200))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    deactivated_reason: Mapped[str | None] = mapped_column(String(200))
    quiet_start: Mapped[time | None] = mapped_column(Time)
    quiet_end: Mapped[time | None] = mapped_column(Time)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("chat_link_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_link_id: Mapped[int] = mapped_column(ForeignKey("chat_links.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))


class Invite(Base):
    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    role: Mapped[str] = mapped_column(String(20), default="officer")
    # An invite for a named person (someone on the rosters): joining links the chat to that person,
    # so their own duty reminders reach them.
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    expires_at: Mapped[datetime | None]
    max_uses: Mapped[int] = mapped_column(default=1)
    uses: Mapped[int] = mapped_column(default=0)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- Schedule: conferences, meetings, drill milestones -------------------------------------------------

event_units = Table(
    "event_units",
    Base.metadata,
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("units.id"), primary_key=True),
)

event_directives = Table(
    "event_directives",
    Base.metadata,
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("directive_id", ForeignKey("directives.id"), primary_key=True),
)


class Event(Base):
    """Anything on the calendar: a conference (hội nghị), a meeting, an inspection or one milestone of
    a drill plan. ``all_day`` events have no clock time; ``session`` keeps "sáng/chiều/tối"."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_status_starts", "status", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str | None] = mapped_column(String(60), unique=True)
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("clusters.id"))
    kind: Mapped[str] = mapped_column(String(20))  # conference / meeting / drill / inspection / other
    subkind: Mapped[str | None] = mapped_column(String(30))  # so_ket_6t, tong_ket...; drill step
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    session: Mapped[str | None] = mapped_column(String(10))  # sang / chieu / toi
    location: Mapped[str | None] = mapped_column(String(300))
    host_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    drill_plan_id: Mapped[int | None] = mapped_column(ForeignKey("drill_plans.id"), index=True)
    cluster_wide: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="planned")  # planned / cancelled / done
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set by the service that changes the row (the request's own time, which tests and tick control).
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    # Loaded only where needed (selectinload), so listing events costs one query.
    units: Mapped[list[Unit]] = relationship(secondary=event_units, lazy="raise")
    directives: Mapped[list[Directive]] = relationship(secondary=event_directives, lazy="raise")


class Directive(Base):
    """A directive or campaign referred to in conferences (Chỉ thị 87-CT/QUTW...)."""

    __tablename__ = "directives"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # chi_thi / cuoc_van_dong / phong_trao
    number: Mapped[str | None] = mapped_column(String(20), index=True)
    code: Mapped[str | None] = mapped_column(String(40))
    issuer: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text)
    needs_verification: Mapped[bool] = mapped_column(Boolean, default=False)


class ReadinessPeriod(Base):
    """A period of reinforced combat-readiness duty (tăng cường trực: Tết, 30/4, 2/9...)."""

    __tablename__ = "readiness_periods"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    level: Mapped[str] = mapped_column(String(20), default="tang_cuong")
    directive_ref: Mapped[str | None] = mapped_column(String(200))
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)
    # Added by /themtangcuong: the units it concerns (None: the whole cluster) and the admin's note.
    unit_ids: Mapped[list[Any] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)


# --- Duty ----------------------------------------------------------------------------------------------


class DutyShift(Base):
    """One role on one duty day (ngày đêm): e.g. trực chỉ huy 07h30 22/6 → 07h30 23/6."""

    __tablename__ = "duty_shifts"
    __table_args__ = (
        Index("ix_duty_shifts_unit_date", "unit_id", "duty_date"),
        Index("ix_duty_shifts_starts", "starts_at"),
        Index("ix_duty_shifts_date", "duty_date"),  # every unit's shifts of some days (the roster window)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str | None] = mapped_column(String(60), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    duty_date: Mapped[date] = mapped_column(Date)
    role: Mapped[str] = mapped_column(String(30))  # truc_chi_huy / truc_ban / truc_chien / ...
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    person_label: Mapped[str | None] = mapped_column(String(120))  # a team ("Tổ 1") or a name as typed
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reinforced: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="planned")  # planned / cancelled
    version: Mapped[int] = mapped_column(default=1)
    # Set by the service that changes the row (the request's own time, which tests and tick control).
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    member: Mapped[Member | None] = relationship(lazy="raise")


class DutySwap(Base):
    """A request to hand over a shift: swapped with a colleague's (``swap``), taken by a named colleague
    (``give``) or by anyone of the unit (``offer``). Status: asked → agreed → approved, or refused (by
    the colleague), rejected (by the approver), expired, withdrawn. ``step`` counts the changes (each
    step's notices are written once)."""

    __tablename__ = "duty_swaps"
    __table_args__ = (Index("ix_duty_swaps_status_expires", "status", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    kind: Mapped[str] = mapped_column(String(10))  # swap / give / offer
    shift_id: Mapped[int] = mapped_column(ForeignKey("duty_shifts.id"))
    other_shift_id: Mapped[int | None] = mapped_column(ForeignKey("duty_shifts.id"))
    requester_member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    target_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    approver_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    status: Mapped[str] = mapped_column(String(20))
    step: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]


class DutyAck(Base):
    """The person on duty said "Đã nhận" to their reminder: who, for which shift, when. A shift handed
    to someone else needs that person's own acknowledgement (the row names the member)."""

    __tablename__ = "duty_acks"
    __table_args__ = (UniqueConstraint("shift_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("duty_shifts.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    acked_at: Mapped[datetime]
    channel: Mapped[str | None] = mapped_column(String(20))


# --- Drills --------------------------------------------------------------------------------------------


class DrillPlan(Base):
    """A district's drill programme for a year (area empty: shared milestones) or one commune drill
    inside it (``parent_id`` points to the programme). Milestones are :class:`Event` rows."""

    __tablename__ = "drill_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str | None] = mapped_column(String(60), unique=True)
    organising_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    area_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("drill_plans.id"))
    year: Mapped[int]
    kind: Mapped[str] = mapped_column(String(30), default="dtcdpt_xa")
    title: Mapped[str] = mapped_column(String(300))
    result: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="planned")


# --- Focus tasks ---------------------------------------------------------------------------------------


class Task(Base):
    """A focus task (nhiệm vụ trọng tâm) of the cluster for a period, assigned to units."""

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str | None] = mapped_column(String(60), unique=True)
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("clusters.id"))
    code: Mapped[str | None] = mapped_column(String(20))
    category: Mapped[str | None] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(400))
    period: Mapped[str | None] = mapped_column(String(20))  # "2022-H2", "2022-Q3", "2022"
    starts_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    cluster_wide: Mapped[bool] = mapped_column(Boolean, default=True)
    # The conference that decided it ("nhiệm vụ trọng tâm 6 tháng cuối năm" from the sơ kết).
    source_event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    status: Mapped[str] = mapped_column(String(20), default="open")  # open / cancelled
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set by the service that changes the row (the request's own time, which tests and tick control).
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    assignments: Mapped[list[TaskAssignment]] = relationship(
        back_populates="task", lazy="selectin", cascade="all, delete-orphan"
    )


class TaskAssignment(Base):
    __tablename__ = "task_assignments"
    __table_args__ = (UniqueConstraint("task_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="not_started")  # not_started/in_progress/done
    progress: Mapped[int] = mapped_column(default=0)
    report: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime | None]
    updated_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))

    task: Mapped[Task] = relationship(back_populates="assignments", lazy="raise")


# --- Reviews and results -------------------------------------------------------------------------------


class ReviewPeriod(Base):
    """A scoring period of a cluster: a quarter, a half year or the year."""

    __tablename__ = "review_periods"
    __table_args__ = (UniqueConstraint("cluster_id", "year", "kind", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id"))
    year: Mapped[int]
    kind: Mapped[str] = mapped_column(String(10))  # quarter / half / year
    number: Mapped[int] = mapped_column(default=0)  # 1-4 for quarters, 1-2 for halves, 0 for a year
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    inspection_from: Mapped[date | None] = mapped_column(Date)
    inspection_to: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="draft")  # draft / published
    published_at: Mapped[datetime | None]
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)


class Criterion(Base):
    """One line of the cluster's scoring rubric (biểu điểm); ``kind='adjustment'`` is the ± line."""

    __tablename__ = "criteria"
    __table_args__ = (UniqueConstraint("cluster_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id"))
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    max_points: Mapped[Decimal] = mapped_column(Points)
    min_points: Mapped[Decimal] = mapped_column(Points, default=Decimal(0))
    kind: Mapped[str] = mapped_column(String(20), default="normal")  # normal / adjustment
    sort: Mapped[int] = mapped_column(default=0)


class Score(Base):
    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("period_id", "unit_id", "criterion_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("review_periods.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criteria.id"))
    points: Mapped[Decimal] = mapped_column(Points)
    remark: Mapped[str | None] = mapped_column(Text)
    entered_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ReviewResult(Base):
    """A unit's total, rank and grade for a period, computed from its scores."""

    __tablename__ = "review_results"
    __table_args__ = (UniqueConstraint("period_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("review_periods.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    total: Mapped[Decimal] = mapped_column(Points)
    rank: Mapped[int]
    grade: Mapped[str | None] = mapped_column(String(40))
    title: Mapped[str | None] = mapped_column(String(100))
    remarks: Mapped[str | None] = mapped_column(Text)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- News ----------------------------------------------------------------------------------------------


class NewsSource(Base):
    __tablename__ = "news_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    etag: Mapped[str | None] = mapped_column(String(200))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_fetched_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))


class NewsItem(Base):
    __tablename__ = "news_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("news_sources.id"))
    guid: Mapped[str] = mapped_column(String(500), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    link: Mapped[str | None] = mapped_column(String(1000))
    summary: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    posted_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))


# --- Delivery, dialogs, audit, jobs --------------------------------------------------------------------


class OutboxMessage(Base):
    """A message to push. ``dedupe_key`` (the slot plus the entity's version) makes planning idempotent
    across runs and replicas; ``slot`` (kind, entity, occurrence, offset, chat) lets the planner see
    that a slot was already served by an earlier version of the entity."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
        Index("ix_outbox_entity", "entity_type", "entity_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    slot: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    chat_link_id: Mapped[int | None] = mapped_column(ForeignKey("chat_links.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    # A notice: its kind (bot.views.notices renders it at send time) and its facts. Rows written before 0004, and
    # texts composed elsewhere (broadcasts, quota warnings), have ``text`` instead.
    notice: Mapped[str | None] = mapped_column(String(40))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    stored_text: Mapped[str | None] = mapped_column("text", Text)
    buttons: Mapped[list[Any] | None] = mapped_column(JSON)
    entity_type: Mapped[str | None] = mapped_column(String(30))
    entity_id: Mapped[int | None]
    occurrence: Mapped[str | None] = mapped_column(String(40))
    entity_version: Mapped[int | None]
    # When it was meant to go out; when it may go out (after quiet hours); when to try next.
    due_at: Mapped[datetime]
    send_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    # pending / claimed / sent / failed / missed / cancelled
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    # Of a message sent in parts (longer than the channel's limit): how many went out before an attempt
    # failed; the next attempt starts after them instead of sending them again.
    parts_sent: Mapped[int] = mapped_column(default=0, server_default="0")
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    claimed_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def text(self) -> str:
        """The stored text, else the notice rendered (HTML subset, the cluster's default time zone)."""
        if self.stored_text is not None or self.notice is None:
            return self.stored_text or ""
        from bot.views.notices import DEFAULT_TZ, render  # lazy: the views import the models

        return render(self.notice, self.payload or {}, DEFAULT_TZ).text

    @text.setter
    def text(self, value: str) -> None:
        self.stored_text = value


class DialogState(Base):
    """Where a guided multi-step command stands, per chat and user, so it survives restarts."""

    __tablename__ = "dialog_states"
    __table_args__ = (UniqueConstraint("channel", "chat_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(40))
    step: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    expires_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    actor_label: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60))
    entity_type: Mapped[str | None] = mapped_column(String(30))
    entity_id: Mapped[int | None]
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class JobRun(Base):
    """One run of a periodic job for one period; the unique key lets only one replica do it."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    detail: Mapped[str | None] = mapped_column(String(500))


class ContentVersion(Base):
    """One row (id 1) counting changes of content; see bot/cache.py."""

    __tablename__ = "content_versions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


# --- Channels: numbered options, re-delivered updates, quotas, served files ----------------------------


class ChatOptions(Base):
    """The numbered options a chat was last offered, on a channel without buttons (Zalo, console):
    "1" pressed after a restart, or answered by another replica, still means what was offered."""

    __tablename__ = "chat_options"
    __table_args__ = (UniqueConstraint("channel", "chat_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    # [[label, callback data], ...] in the order they were numbered.
    options: Mapped[list[Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SeenUpdate(Base):
    """An update a channel has already handled (Zalo hands consumed updates out again); kept for a
    few days, so a repeat is dropped even after a restart or on another replica."""

    __tablename__ = "seen_updates"
    __table_args__ = (UniqueConstraint("channel", "update_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    update_key: Mapped[str] = mapped_column(String(120))
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class InboxUpdate(Base):
    """A webhook update taken (its 200 already given) but not yet answered. It is written before the
    platform hears 200 and deleted once the update was answered, so an update whose answer a crash
    interrupted is answered after the restart, or by another replica, instead of being lost."""

    __tablename__ = "inbox_updates"
    __table_args__ = (UniqueConstraint("channel", "update_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    update_key: Mapped[str] = mapped_column(String(120))
    payload: Mapped[Any] = mapped_column(JSON)
    # When it was taken, or last taken again from a replica that did not answer it in time.
    taken_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    attempts: Mapped[int] = mapped_column(default=1)


class ChannelUsage(Base):
    """Messages sent per channel and calendar month (Zalo's plans count them), and when the admins
    were warned that the quota is running out."""

    __tablename__ = "channel_usage"
    __table_args__ = (UniqueConstraint("channel", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    month: Mapped[str] = mapped_column(String(7))  # 2022-06
    sent: Mapped[int] = mapped_column(default=0)
    warned_at: Mapped[datetime | None]


class StoredFile(Base):
    """A generated picture or file served at ``/files/<token>`` (Zalo's sendPhoto takes an address,
    not an upload); the token is long and random, so the address cannot be guessed."""

    __tablename__ = "stored_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(200))
    mime_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class AppState(Base):
    """A few facts about this database as a whole, by key: e.g. ``demo_clock``, the moment a database
    loaded with the demo answers as of (the demo is Cụm thi đua số 2 in June 2022)."""

    __tablename__ = "app_state"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class SendSlot(Base):
    """One platform limit of a bot token shared by all replicas (the token's overall rate, a chat's own
    limit): from when, in seconds since the epoch by the database's clock, the next message may go."""

    __tablename__ = "send_slots"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    next_at: Mapped[float] = mapped_column(Float)


class CalendarFeed(Base):
    """A secret calendar address (``/ical/<token>.ics``) for a phone calendar to subscribe to: what
    concerns its owner (``mine``), one unit (``unit``) or the whole cluster (``cluster``). ``/ical mới``
    revokes it (``revoked_at``) and gives a new one; a revoked address answers 404."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    # Who asked for it: "<channel>:<sender id>" (an admin from the settings may have no member row).
    owner: Mapped[str] = mapped_column(String(100), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    scope: Mapped[str] = mapped_column(String(10))  # mine / unit / cluster
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
