"""What every handler gets: the message, an open session, the sender, the time, and the parsed slots."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.messages import ChannelInfo, Incoming
from bot.services.members import Viewer
from bot.services.units import ClusterView, ReferenceData, UnitDirectory, UnitMatch
from bot.vntime import PeriodSpec

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


@dataclass
class Slots:
    """What a command's arguments or a plain question name: a unit, a commune, a day or span, a
    review period, a duty role, a number. Filled by :mod:`handlers.nlu`."""

    text: str = ""
    norm: str = ""
    unit: UnitMatch | None = None
    area: UnitMatch | None = None
    span: tuple[date, date, str] | None = None
    period: PeriodSpec | None = None
    role: str | None = None
    number: str | None = None
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

    async def cluster(self) -> ClusterView | None:
        """The cluster of the current year."""
        return await self.reference.cluster(self.session, self.today)
