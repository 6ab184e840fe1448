"""The audit log: who changed what, when, before and after."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import AuditEntry, ChatLink, Member, ReviewPeriod, Task, Unit
from bot.services.members import Viewer
from bot.vntime import PeriodSpec


async def record(
    session: AsyncSession,
    viewer: Viewer,
    action: str,
    *,
    at: datetime,
    entity_type: str | None = None,
    entity_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        at=at,
        actor_member_id=viewer.member.id if viewer.member else None,
        actor_label=viewer.label,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=before,
        after=after,
    )
    session.add(entry)
    await session.flush()
    return entry


async def latest(session: AsyncSession, limit: int = 20) -> list[AuditEntry]:
    return list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)))


@dataclass(frozen=True)
class AuditNames:
    """What the ids in some audit entries name: members' full names, units' short names, review
    periods' labels, group chats' titles and tasks' codes."""

    members: dict[int, str] = field(default_factory=dict)
    units: dict[int, str] = field(default_factory=dict)
    periods: dict[int, str] = field(default_factory=dict)
    chats: dict[int, str] = field(default_factory=dict)
    tasks: dict[int, str] = field(default_factory=dict)


def _ids(entries: list[AuditEntry], entity_type: str) -> set[int]:
    return {e.entity_id for e in entries if e.entity_type == entity_type and e.entity_id is not None}


async def names_for(session: AsyncSession, entries: list[AuditEntry]) -> AuditNames:
    """The names the entries refer to by id, read once for the whole page."""
    member_ids = {e.actor_member_id for e in entries if e.actor_member_id} | _ids(entries, "member")
    unit_ids: set[int] = set()
    for entry in entries:
        for facts in (entry.before or {}, entry.after or {}):
            if isinstance(facts.get("unit_id"), int):
                unit_ids.add(facts["unit_id"])
            scope = facts.get("scope")
            if isinstance(scope, dict) and isinstance(scope.get("unit"), int):
                unit_ids.add(scope["unit"])
    members = await session.execute(select(Member.id, Member.full_name).where(Member.id.in_(member_ids)))
    units = await session.execute(select(Unit.id, Unit.short_name).where(Unit.id.in_(unit_ids)))
    periods = await session.scalars(select(ReviewPeriod).where(ReviewPeriod.id.in_(_ids(entries, "review_period"))))
    chats = await session.execute(
        select(ChatLink.id, ChatLink.title).where(ChatLink.id.in_(_ids(entries, "chat_link")))
    )
    tasks = await session.execute(select(Task.id, Task.code).where(Task.id.in_(_ids(entries, "task"))))
    return AuditNames(
        members={i: n for i, n in members.all()},
        units={i: n for i, n in units.all()},
        periods={p.id: PeriodSpec(p.year, p.kind, p.number).label() for p in periods},
        chats={i: t for i, t in chats.all() if t},
        tasks={i: c for i, c in tasks.all() if c},
    )
