"""What every handler gets: the message, an open session, the sender, the time, and the parsed slots."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.messages import ChannelInfo, Incoming, ProgressSink
from bot.services.members import Viewer
from bot.services.units import ClusterView, PersonRef, ReferenceData, UnitDirectory, UnitMatch
from bot.vntime import PeriodSpec

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


@dataclass
class Slots:
    """The structured query of a command's arguments or a plain question: its subject and operation
    (plain questions only) and its filters: units, a commune, people, a day or span, a time of day, a
    review period, a duty role, a criterion, a grade, a task, a kind of event. Filled by
    :mod:`handlers.nlu`."""

    text: str = ""
    norm: str = ""
    subject: str | None = None
    operation: str = "show"
    unit: UnitMatch | None = None
    unit2: UnitMatch | None = None  # the other unit of a comparison
    area: UnitMatch | None = None
    people: list[PersonRef] = field(default_factory=list)  # more than one: ask which
    self_ref: bool = False  # "khi nào tôi trực": the asker
    span: tuple[date, date, str] | None = None
    moment: time | None = None  # "5h sáng mai": a time of day inside a 24-hour shift
    period: PeriodSpec | None = None
    role: str | None = None
    number: str | None = None
    criterion: str | None = None  # a code ("G3") or a word of its name ("dan van")
    grade: str | None = None  # normalised grade name ("tot")
    task_code: str | None = None
    task_topic: str | None = None  # a task category ("dien_tap")
    event_kind: str | None = None
    # Words nothing above accounts for (normalised); for a command's arguments, a sign of a typo
    # or an unknown unit name.
    leftover: str = ""

    @property
    def day(self) -> date | None:
        """The single day asked about, when the span is one day."""
        if self.span and self.span[0] == self.span[1]:
            return self.span[0]
        return None


@dataclass
class Context:
    incoming: Incoming
    session: AsyncSession
    viewer: Viewer
    settings: Settings
    channel: ChannelInfo
    now: datetime  # aware, in the cluster's time zone
    reference: ReferenceData = field(default_factory=ReferenceData)
    # The command being answered (its Vietnamese name), when there is one.
    command: str = ""
    slots: Slots = field(default_factory=Slots)
    # The commands this sender may use: (Vietnamese name, English alias, description).
    menu: list[tuple[str, str, str]] = field(default_factory=list)
    # The commands of a role (for a sender whose role changes while answering: /start CODE).
    menu_of: Callable[[str], list[tuple[str, str, str]]] = lambda _role: []
    # Nothing is written while answering (a question): small tables may come from the reference data.
    read_only: bool = False
    # Supplied by the channel: shows a progress text while this answer is being made (None: the
    # channel shows none, as for pushed or replayed work).
    progress: ProgressSink | None = None

    def counter(self, say: Callable[[int, int], str], *, every: int) -> Callable[[int, int], Awaitable[None]] | None:
        """An ``on_progress(done, total)`` for a use case that counts (rows, items): each time ``done``
        reaches a multiple of ``every``, ``say(done, total)`` (a view's text) goes to the channel. A job
        smaller than ``every`` reports nothing (its answer follows at once); None without a channel sink."""
        sink = self.progress
        if sink is None:
            return None
        shown = 0

        async def on_progress(done: int, total: int) -> None:
            nonlocal shown
            if total < every or done // every <= shown // every:
                return
            shown = done
            await sink(say(done, total))

        return on_progress

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.tz

    @property
    def shows_codes(self) -> bool:
        """Admins see each item's code (S12, T40, D2) in lists: what /sua and /huy take."""
        return self.viewer.at_least("admin")

    @property
    def today(self) -> date:
        return self.now.date()

    async def directory(self) -> UnitDirectory:
        return await self.reference.directory(self.session)

    async def people(self) -> list[PersonRef]:
        return await self.reference.people(self.session)

    async def kept(self, key: Hashable, load: Callable[[], Awaitable[list[Any]]]) -> list[Any]:
        """``load()``'s rows, kept per content version when answering a question (see
        :meth:`ReferenceData.kept`); read afresh in a transaction that may write."""
        if self.read_only:
            return await self.reference.kept(key, load)
        return await load()

    async def kept_value(self, key: Hashable, load: Callable[[], Awaitable[Any]]) -> Any:
        """``load()``'s immutable value, kept per content version when answering a question (see
        :meth:`ReferenceData.kept_value`); made afresh in a transaction that may write."""
        if self.read_only:
            return await self.reference.kept_value(key, load)
        return await load()

    async def kept_latest(self, kind: Hashable, key: Hashable, load: Callable[[], Awaitable[Any]]) -> Any:
        """:meth:`ReferenceData.kept_latest` when answering a question; made afresh otherwise."""
        if self.read_only:
            return await self.reference.kept_latest(kind, key, load)
        return await load()

    async def cluster(self) -> ClusterView | None:
        """The cluster of the current year."""
        return await self.reference.cluster(self.session, self.today)
