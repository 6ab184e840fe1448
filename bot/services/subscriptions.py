"""Subscriptions and quiet hours of chats, and the audience of a push: who is concerned."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import lexicon
from bot.models import ChatLink, Subscription

# Kinds a chat can subscribe to, in the order menus show them.
KINDS = {
    "conference": "Hội nghị, họp",
    "duty": "Lịch trực",
    "drill": "Diễn tập",
    "task": "Nhiệm vụ",
    "digest_daily": "Bản tin sáng",
    "digest_weekly": "Bản tin tuần",
    "news": "Tin tức",
    "announcements": "Thông báo",
}
# Words people type for a kind live in the lexicon (matched longest first, see bot/lexicon.py).
KIND_WORDS = lexicon.KIND_WORDS


async def subscribe(session: AsyncSession, link: ChatLink, kinds: Iterable[str]) -> list[str]:
    """Add subscriptions; returns the kinds that were new."""
    have = set(await session.scalars(select(Subscription.kind).where(Subscription.chat_link_id == link.id)))
    added = [k for k in kinds if k in KINDS and k not in have]
    session.add_all(Subscription(chat_link_id=link.id, kind=k) for k in added)
    await session.flush()
    return added


async def unsubscribe(session: AsyncSession, link: ChatLink, kinds: Iterable[str]) -> None:
    await session.execute(
        delete(Subscription).where(Subscription.chat_link_id == link.id, Subscription.kind.in_(list(kinds)))
    )


async def subscriptions_of(session: AsyncSession, link: ChatLink) -> set[str]:
    return set(await session.scalars(select(Subscription.kind).where(Subscription.chat_link_id == link.id)))


def in_quiet_hours(moment: datetime, start: time | None, end: time | None, tz: ZoneInfo) -> datetime | None:
    """If ``moment`` falls in the quiet hours [start, end) (which may span midnight), the moment they
    end; otherwise None."""
    if start is None or end is None or start == end:
        return None
    local = moment.astimezone(tz)
    clock = local.time()
    if start < end:
        if start <= clock < end:
            return datetime.combine(local.date(), end, tz)
        return None
    if clock >= start:
        return datetime.combine(local.date() + timedelta(days=1), end, tz)
    if clock < end:
        return datetime.combine(local.date(), end, tz)
    return None


@dataclass
class Audience:
    """Every active chat with its subscriptions, indexed for the planner (one query per run)."""

    links: list[ChatLink]
    kinds: dict[int, set[str]]
    by_unit: dict[int | None, list[ChatLink]] = field(default_factory=dict)
    by_member: dict[int, list[ChatLink]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        by_unit: dict[int | None, list[ChatLink]] = defaultdict(list)
        by_member: dict[int, list[ChatLink]] = defaultdict(list)
        for link in self.links:
            by_unit[link.unit_id].append(link)
            if link.member_id is not None and link.chat_type == "private":
                by_member[link.member_id].append(link)
        self.by_unit, self.by_member = dict(by_unit), dict(by_member)

    def _wants(self, link: ChatLink, kind: str) -> bool:
        return kind in self.kinds.get(link.id, ())

    def for_units(self, kind: str, unit_ids: Iterable[int], *, groups_only: bool = False) -> list[ChatLink]:
        chats = [link for unit_id in set(unit_ids) for link in self.by_unit.get(unit_id, ())]
        return [c for c in chats if self._wants(c, kind) and (not groups_only or c.chat_type == "group")]

    def everyone(self, kind: str) -> list[ChatLink]:
        """Cluster-wide: every chat subscribed, including admins' chats that belong to no unit."""
        return [link for link in self.links if self._wants(link, kind)]

    def for_member(self, kind: str, member_id: int | None) -> list[ChatLink]:
        if member_id is None:
            return []
        return [c for c in self.by_member.get(member_id, ()) if self._wants(c, kind)]


async def load_audience(session: AsyncSession, channels: Iterable[str] | None = None) -> Audience:
    query = select(ChatLink).where(ChatLink.active.is_(True)).order_by(ChatLink.id)
    if channels is not None:
        query = query.where(ChatLink.channel.in_(list(channels)))
    links = list(await session.scalars(query))
    kinds: dict[int, set[str]] = defaultdict(set)
    rows = await session.execute(
        select(Subscription.chat_link_id, Subscription.kind).join(ChatLink).where(ChatLink.active.is_(True))
    )
    for link_id, kind in rows.all():
        kinds[link_id].add(kind)
    return Audience(links, dict(kinds))
