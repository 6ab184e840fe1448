"""Units and communes: finding them by the names officers type, and the cluster's membership.

Units and the cluster change rarely and are needed by almost every question, so each process keeps
an immutable snapshot of them (:class:`ReferenceData`) until the content version changes, instead of
querying them for every message. Snapshots are plain frozen dataclasses, never ORM objects: code that writes must load
the row it changes with ``session.get(Unit, ref.id)``.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, make_dataclass
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import lexicon
from bot.models import Cluster, ClusterMember, Member, Unit
from bot.textnorm import contains_phrase, normalize

AREA_TYPE_NAMES = {
    "xa": "xã",
    "phuong": "phường",
    "thi_tran": "thị trấn",
    "huyen": "huyện",
    "thi_xa": "thị xã",
    "thanh_pho": "thành phố",
}
# Words people put before a commune name, normalised, with the area type they claim.
_AREA_WORDS = lexicon.AREA_WORDS
_ROLE_NAMES = {"head": "cụm trưởng", "deputy": "cụm phó", "member": "thành viên"}
_EDGE_PUNCTUATION = ".,:;!?"


def cluster_role_name(role: str) -> str:
    return _ROLE_NAMES.get(role, role)


@dataclass(frozen=True)
class UnitRef:
    """A snapshot of a :class:`Unit` row."""

    id: int
    key: str
    name: str
    short_name: str
    kind: str
    area_type: str | None
    gso_code: str | None
    parent_id: int | None
    aliases: tuple[str, ...]

    @classmethod
    def of(cls, unit: Unit) -> UnitRef:
        return cls(
            unit.id,
            unit.key,
            unit.name,
            unit.short_name,
            unit.kind,
            unit.area_type,
            unit.gso_code,
            unit.parent_id,
            tuple(unit.aliases or ()),
        )


@dataclass(frozen=True)
class UnitMatch:
    unit: UnitRef
    # A remark to show before the answer, e.g. "Ba Sao là thị trấn, không phải xã."
    note: str | None = None
    # The normalised name that matched, if it was found in a sentence.
    matched: str | None = None


def _aliases(unit: UnitRef) -> list[str]:
    names = [unit.name, unit.short_name, *unit.aliases]
    return [n for n in dict.fromkeys(normalize(name) for name in names) if n]


class UnitDirectory:
    """All known units, searchable by full name, short name or abbreviation, with or without
    diacritics. Lookups go through a dictionary of normalised names, word n-gram by word n-gram."""

    def __init__(self, units: list[UnitRef]) -> None:
        self.units = units
        self.by_id = {u.id: u for u in units}
        self._index: dict[str, list[UnitRef]] = {}
        for unit in units:
            for alias in _aliases(unit):
                self._index.setdefault(alias, []).append(unit)
        # First word of a name -> the word counts of the names it begins, most words first: a
        # sentence is searched from its words, not from every run of words in it.
        sizes: dict[str, set[int]] = {}
        for alias in self._index:
            words = alias.split()
            sizes.setdefault(words[0], set()).add(len(words))
        self._sizes = {word: sorted(counts, reverse=True) for word, counts in sizes.items()}
        self._first_words = frozenset(self._sizes)
        self._children: dict[int | None, list[UnitRef]] = {}
        for unit in units:
            if unit.kind == "commune":
                self._children.setdefault(unit.parent_id, []).append(unit)

    def commands(self) -> list[UnitRef]:
        return [u for u in self.units if u.kind != "commune"]

    def communes_of(self, district: UnitRef) -> list[UnitRef]:
        return self._children.get(district.id, [])

    def find_in_text(
        self,
        text: str,
        *,
        communes: bool | None = None,
        prefer_parent: int | None = None,
        normalized: bool = False,
    ) -> UnitMatch | None:
        """The unit named somewhere in a sentence; the longest name wins ("ban chqs huyen kim bang"
        over "kim bang"). ``communes``: True = only communes, False = never communes, None = either.
        A commune of ``prefer_parent`` wins a tie between same-named ones. ``normalized``: ``text``
        is normalize()d already (the parser's canonical text), so it is not normalised again."""
        query = text if normalized else normalize(text)
        words = query.split()
        if "." in query or "," in query or ":" in query:  # normalize() leaves no other _EDGE_PUNCTUATION
            words = [w.strip(_EDGE_PUNCTUATION) for w in words]
        firsts = self._first_words.intersection(words)
        if not firsts:
            return None
        runs = [  # (word count, first word) of each run of words that may be a name
            (size, start)
            for start, word in enumerate(words)
            if word in firsts
            for size in self._sizes[word]
            if start + size <= len(words)
        ]
        runs.sort(key=lambda run: (-run[0], run[1]))  # most words first, then from the left
        best: list[tuple[str, UnitRef]] = []
        for size, start in runs:
            alias = " ".join(words[start : start + size])
            for unit in self._index.get(alias, ()):
                if communes is not None and (unit.kind == "commune") != communes:
                    continue
                if not best or len(alias) > len(best[0][0]):
                    best = [(alias, unit)]
                elif len(alias) == len(best[0][0]):
                    best.append((alias, unit))
        if not best:
            return None
        best.sort(key=lambda pair: (pair[1].parent_id != prefer_parent, pair[1].kind == "commune"))
        alias, unit = best[0]
        return UnitMatch(unit, self._area_type_note(query, alias, unit), alias)

    def resolve(self, text: str, *, communes: bool | None = False) -> UnitMatch | None:
        """A unit given as a command argument: exact or contained names first, then a close spelling."""
        found = self.find_in_text(text, communes=communes)
        if found:
            return found
        query = normalize(text)
        if not query:
            return None
        candidates = {
            alias: units[0]
            for alias, units in self._index.items()
            if communes is None or (units[0].kind == "commune") == communes
        }
        close = difflib.get_close_matches(query, list(candidates), n=1, cutoff=0.8)
        if close:
            return UnitMatch(candidates[close[0]])
        for prefix in ("ban chqs ", "bchqs ", "huyen ", "thi xa ", "thanh pho ", "tp ", "tx ", "xa "):
            if query.startswith(prefix):
                return self.resolve(query.removeprefix(prefix), communes=communes)
        return None

    @staticmethod
    def _area_type_note(query: str, alias: str, unit: UnitRef) -> str | None:
        if unit.kind != "commune" or not unit.area_type:
            return None
        for word, claimed in _AREA_WORDS.items():
            if contains_phrase(query, f"{word} {alias}") and claimed != unit.area_type:
                return (
                    f"Lưu ý: {unit.short_name} là {AREA_TYPE_NAMES[unit.area_type]} "
                    f"({unit.name}), không phải {AREA_TYPE_NAMES[claimed]}."
                )
        return None


@dataclass(frozen=True)
class PersonRef:
    """A snapshot of an active member, as questions name them ("Phúc", "đ/c Quang", "CHT")."""

    id: int
    full_name: str
    rank: str | None
    position_short: str | None
    unit_id: int | None
    norm_name: str  # "le quang cuong"
    given: str  # "cuong"
    position: str | None  # normalised short position: "cht", "pho cht tmt"

    @property
    def label(self) -> str:
        return " ".join(part for part in (self.rank, self.full_name) if part)


async def load_people(session: AsyncSession) -> list[PersonRef]:
    rows = await session.scalars(select(Member).where(Member.active.is_(True)).order_by(Member.id))
    people = []
    for member in rows:
        norm = normalize(member.full_name or "")
        if not norm or member.unit_id is None:
            continue
        position = normalize(member.position_short or "").replace("–", " ").replace("-", " ")
        people.append(
            PersonRef(
                member.id,
                member.full_name,
                member.rank,
                member.position_short,
                member.unit_id,
                norm,
                norm.split()[-1],
                " ".join(position.split()) or None,
            )
        )
    return people


async def load_directory(session: AsyncSession) -> UnitDirectory:
    units = await session.scalars(select(Unit).order_by(Unit.id))
    return UnitDirectory([UnitRef.of(u) for u in units])


@dataclass(frozen=True)
class ClusterView:
    """A snapshot of the current cluster and its member units, head first."""

    id: int
    name: str
    year: int
    theme: str | None
    illustrative: bool
    members: tuple[tuple[UnitRef, str], ...]  # (unit, role)

    @property
    def head(self) -> UnitRef | None:
        return next((u for u, role in self.members if role == "head"), None)

    @property
    def deputy(self) -> UnitRef | None:
        return next((u for u, role in self.members if role == "deputy"), None)

    @property
    def units(self) -> list[UnitRef]:
        return [u for u, _ in self.members]

    def unit_ids(self) -> list[int]:
        return [u.id for u, _ in self.members]

    def role_of(self, unit_id: int) -> str | None:
        return next((role for u, role in self.members if u.id == unit_id), None)


async def current_cluster(session: AsyncSession, year: int, directory: UnitDirectory) -> ClusterView | None:
    """The cluster of ``year`` (or the latest one before it, or else the first one)."""
    cluster = await session.scalar(
        select(Cluster).where(Cluster.year <= year).order_by(Cluster.year.desc(), Cluster.id).limit(1)
    )
    if cluster is None:
        cluster = await session.scalar(select(Cluster).order_by(Cluster.year, Cluster.id).limit(1))
    if cluster is None:
        return None
    rows = await session.execute(
        select(ClusterMember.unit_id, ClusterMember.role)
        .where(ClusterMember.cluster_id == cluster.id)
        .order_by(ClusterMember.sort, ClusterMember.unit_id)
    )
    order = {"head": 0, "deputy": 1}
    members = sorted(
        ((directory.by_id[unit_id], role) for unit_id, role in rows.all() if unit_id in directory.by_id),
        key=lambda pair: order.get(pair[1], 2),
    )
    return ClusterView(cluster.id, cluster.name, cluster.year, cluster.theme, cluster.illustrative, tuple(members))


@cache
def _snapshot_class(cls: type, extra: tuple[str, ...] = ()) -> type:
    """``extra``: fields after the columns, for what is read with the row (a task's assignments)."""
    names = [attr.key for attr in sa_inspect(cls).column_attrs] + list(extra)
    # Compared and hashed by identity, as the rows are.
    return make_dataclass(f"{cls.__name__}Snapshot", names, frozen=True, eq=False)


@cache
def snapshot_columns(cls: type) -> tuple[Any, ...]:
    """The table columns of mapped class ``cls`` in the order of its snapshot's fields: a Core select
    of them reads rows that :func:`snapshot_of_row` turns into snapshots without ORM loading."""
    return tuple(attr.columns[0] for attr in sa_inspect(cls).column_attrs)


def snapshot_of_row(cls: type, row: Sequence[Any], start: int = 0, **extra: Any) -> Any:
    """The snapshot of ``cls`` made from ``row[start:]`` (a row of :func:`snapshot_columns`), with
    ``extra`` fields read beside it (``assignments=[...]``)."""
    return _snapshot_class(cls, tuple(extra))(*row[start : start + len(snapshot_columns(cls))], **extra)


def snapshot(row: Any) -> Any:
    """A frozen copy of an ORM row's columns, read like the row itself (``period.status``)."""
    names = _snapshot_class(type(row)).__dataclass_fields__
    return _snapshot_class(type(row))(**{name: getattr(row, name) for name in names})


class ReferenceData:
    """Per-process snapshots of the unit directory and the clusters, kept while the content version
    (bot/cache.py) stays the same: any change anywhere, on any replica, drops them."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._version: int | None = None
        self._directory: UnitDirectory | None = None
        self._clusters: dict[int, ClusterView | None] = {}
        self._people: list[PersonRef] | None = None
        self._kept: dict[Hashable, Any] = {}

    def use(self, version: int) -> None:
        """The content version the current message is answered at."""
        if version != self._version:
            self._version, self._directory, self._clusters, self._people = version, None, {}, None
            self._kept = {}

    async def kept(self, key: Hashable, load: Callable[[], Awaitable[list[Any]]]) -> list[Any]:
        """The rows ``load`` reads (a small table's: periods, criteria), read once per content version
        and kept as frozen copies (:func:`snapshot`), never as ORM objects. For read-only questions only:
        a use case that changes such rows must read them in its own transaction."""

        async def snapshots() -> list[Any]:
            return [snapshot(row) for row in await load()]

        return await self.kept_value(key, snapshots)

    async def kept_value(self, key: Hashable, load: Callable[[], Awaitable[Any]]) -> Any:
        """What ``load`` returns (an immutable summary, never ORM objects), made once per content
        version; for read-only questions only, as :meth:`kept`."""
        if key not in self._kept:
            self._kept[key] = await load()
        return self._kept[key]

    async def kept_latest(self, kind: Hashable, key: Hashable, load: Callable[[], Awaitable[Any]]) -> Any:
        """As :meth:`kept_value`, for a value that moves with time (the shifts of the weeks around
        today): only the one made for the latest ``key`` of ``kind`` is kept, so a process that runs
        for weeks without a content change holds one, not one per week."""
        found = self._kept.get(kind)
        if found is None or found[0] != key:
            found = self._kept[kind] = (key, await load())
        return found[1]

    async def directory(self, session: AsyncSession) -> UnitDirectory:
        if self._directory is None:
            async with self._lock:
                if self._directory is None:
                    self._directory = await load_directory(session)
        return self._directory

    async def people(self, session: AsyncSession) -> list[PersonRef]:
        """Active members with a unit (the people questions name)."""
        if self._people is None:
            self._people = await load_people(session)
        return self._people

    async def cluster(self, session: AsyncSession, day: date) -> ClusterView | None:
        directory = await self.directory(session)
        if day.year not in self._clusters:
            self._clusters[day.year] = await current_cluster(session, day.year, directory)
        return self._clusters[day.year]
