"""Units and communes: finding them by the names officers type, and the cluster's membership."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Cluster, ClusterMember, Unit
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
_AREA_WORDS = {"xa": "xa", "phuong": "phuong", "thi tran": "thi_tran", "tt": "thi_tran", "p": "phuong"}
_ROLE_NAMES = {"head": "cụm trưởng", "deputy": "cụm phó", "member": "thành viên"}


def cluster_role_name(role: str) -> str:
    return _ROLE_NAMES.get(role, role)


@dataclass(frozen=True)
class UnitMatch:
    unit: Unit
    # A remark to show before the answer, e.g. "Ba Sao là thị trấn, không phải xã."
    note: str | None = None
    # The normalised name that matched, if it was found in a sentence.
    matched: str | None = None


def _aliases(unit: Unit) -> list[str]:
    names = [unit.name, unit.short_name, *(unit.aliases or [])]
    return [n for n in dict.fromkeys(normalize(name) for name in names) if n]


class UnitDirectory:
    """All known units, searchable by full name, short name, abbreviation, with or without diacritics."""

    def __init__(self, units: list[Unit]) -> None:
        self.units = units
        self.by_id = {u.id: u for u in units}
        self._aliases = [(alias, u) for u in units for alias in _aliases(u)]
        # Longest alias first: "ban chqs huyen kim bang" wins over "kim bang" over "kb".
        self._aliases.sort(key=lambda pair: len(pair[0]), reverse=True)

    def commands(self) -> list[Unit]:
        return [u for u in self.units if u.kind != "commune"]

    def communes_of(self, district: Unit) -> list[Unit]:
        return [u for u in self.units if u.kind == "commune" and u.parent_id == district.id]

    def find_in_text(
        self, text: str, *, communes: bool | None = None, prefer_parent: int | None = None
    ) -> UnitMatch | None:
        """The unit named somewhere in a sentence. ``communes``: True = only communes, False = never
        communes, None = either. A commune of ``prefer_parent`` wins a tie between same-named ones."""
        query = normalize(text)
        best: list[tuple[str, Unit]] = []
        for alias, unit in self._aliases:
            if communes is not None and (unit.kind == "commune") != communes:
                continue
            if best and len(alias) < len(best[0][0]):
                break
            if contains_phrase(query, alias):
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
            alias: unit for alias, unit in self._aliases if communes is None or (unit.kind == "commune") == communes
        }
        close = difflib.get_close_matches(query, list(candidates), n=1, cutoff=0.8)
        if close:
            return UnitMatch(candidates[close[0]])
        for prefix in ("ban chqs ", "bchqs ", "huyen ", "thi xa ", "thanh pho ", "tp ", "tx ", "xa "):
            if query.startswith(prefix):
                return self.resolve(query.removeprefix(prefix), communes=communes)
        return None

    @staticmethod
    def _area_type_note(query: str, alias: str, unit: Unit) -> str | None:
        if unit.kind != "commune" or not unit.area_type:
            return None
        for word, claimed in _AREA_WORDS.items():
            if contains_phrase(query, f"{word} {alias}") and claimed != unit.area_type:
                return (
                    f"Lưu ý: {unit.short_name} là {AREA_TYPE_NAMES[unit.area_type]} "
                    f"({unit.name}), không phải {AREA_TYPE_NAMES[claimed]}."
                )
        return None


async def load_directory(session: AsyncSession, on: date | None = None) -> UnitDirectory:
    query = select(Unit).order_by(Unit.id)
    if on is not None:
        query = query.where((Unit.valid_from.is_(None)) | (Unit.valid_from <= on))
        query = query.where((Unit.valid_to.is_(None)) | (Unit.valid_to >= on))
    return UnitDirectory(list((await session.scalars(query)).all()))


@dataclass(frozen=True)
class ClusterView:
    cluster: Cluster
    members: list[tuple[Unit, str]]  # (unit, role) head first

    @property
    def head(self) -> Unit | None:
        return next((u for u, role in self.members if role == "head"), None)

    @property
    def deputy(self) -> Unit | None:
        return next((u for u, role in self.members if role == "deputy"), None)

    def unit_ids(self) -> list[int]:
        return [u.id for u, _ in self.members]


async def current_cluster(session: AsyncSession, today: date) -> ClusterView | None:
    """The cluster of the current year (or the latest one before it)."""
    cluster = await session.scalar(
        select(Cluster).where(Cluster.year <= today.year).order_by(Cluster.year.desc(), Cluster.id).limit(1)
    )
    if cluster is None:
        cluster = await session.scalar(select(Cluster).order_by(Cluster.year, Cluster.id).limit(1))
    if cluster is None:
        return None
    rows = await session.execute(
        select(Unit, ClusterMember.role)
        .join(ClusterMember, ClusterMember.unit_id == Unit.id)
        .where(ClusterMember.cluster_id == cluster.id)
        .order_by(ClusterMember.sort, Unit.id)
    )
    order = {"head": 0, "deputy": 1}
    members = sorted(((u, r) for u, r in rows.all()), key=lambda pair: order.get(pair[1], 2))
    return ClusterView(cluster, members)
