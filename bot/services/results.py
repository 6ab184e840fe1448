"""Review periods, scores and results: totals, ranks (ties share a rank) and grades."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from types import MappingProxyType
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import InvalidScore, UnknownCriterion, UserError
from bot.models import Cluster, Criterion, ReviewPeriod, ReviewResult, Score, Unit
from bot.services.units import snapshot_columns, snapshot_of_row
from bot.textnorm import normalize
from bot.vntime import PeriodSpec


def competition_ranks(totals: dict[int, Decimal]) -> dict[int, int]:
    """Standard competition ranking: equal totals share a rank and the next rank is skipped
    (92,5 → 1; 90,0 → 2; 90,0 → 2; 88,5 → 4)."""
    ordered = sorted(totals.items(), key=lambda item: item[1], reverse=True)
    ranks: dict[int, int] = {}
    previous: Decimal | None = None
    rank = 0
    for position, (unit_id, total) in enumerate(ordered, start=1):
        if total != previous:
            rank = position
            previous = total
        ranks[unit_id] = rank
    return ranks


def grade_for(total: Decimal, thresholds: list[list[object]]) -> str | None:
    """The first grade whose minimum the total reaches; thresholds run from the highest down."""
    for minimum, grade in sorted(thresholds, key=lambda t: Decimal(str(t[0])), reverse=True):
        if total >= Decimal(str(minimum)):
            return str(grade)
    return None


@dataclass(frozen=True)
class GradeBand:
    """One grade of the cluster's scale: from ``minimum`` up to (not including) ``below``."""

    grade: str
    minimum: Decimal
    below: Decimal | None


def bands_of(thresholds: list[list[object]]) -> list[GradeBand]:
    ordered = sorted(((Decimal(str(m)), str(g)) for m, g in thresholds), reverse=True)
    return [GradeBand(g, m, ordered[i - 1][0] if i else None) for i, (m, g) in enumerate(ordered)]


async def grade_bands(session: AsyncSession, cluster_id: int) -> list[GradeBand]:
    cluster = await session.get(Cluster, cluster_id)
    return bands_of(cluster.grade_thresholds or []) if cluster else []


def criterion_named(criteria: Sequence[Criterion], words: str) -> Criterion | None:
    """A criterion by code ("G3") or by a word of its name ("dan van")."""
    for criterion in criteria:
        if criterion.code.upper() == words.upper():
            return criterion
    for criterion in criteria:
        if words in normalize(criterion.name):
            return criterion
    return None


@dataclass(frozen=True)
class ResultRow:
    result: ReviewResult
    unit: Unit
    scores: Mapping[str, Decimal]  # criterion code -> points


@dataclass(frozen=True)
class ResultTable:
    period: ReviewPeriod
    criteria: Sequence[Criterion]
    rows: Sequence[ResultRow]  # by rank, then unit id

    def row_of(self, unit_id: int) -> ResultRow | None:
        return next((r for r in self.rows if r.unit.id == unit_id), None)


async def find_period(session: AsyncSession, cluster_id: int, spec: PeriodSpec) -> ReviewPeriod | None:
    return await session.scalar(
        select(ReviewPeriod).where(
            ReviewPeriod.cluster_id == cluster_id,
            ReviewPeriod.year == spec.year,
            ReviewPeriod.kind == spec.kind,
            ReviewPeriod.number == spec.number,
        )
    )


async def visible_periods(session: AsyncSession, cluster_id: int, *, include_drafts: bool) -> list[ReviewPeriod]:
    query = select(ReviewPeriod).where(ReviewPeriod.cluster_id == cluster_id)
    if not include_drafts:
        query = query.where(ReviewPeriod.status == "published")
    return list(await session.scalars(query.order_by(ReviewPeriod.ends_on.desc(), ReviewPeriod.id.desc())))


async def latest_period(
    session: AsyncSession, cluster_id: int, today: date, *, include_drafts: bool
) -> ReviewPeriod | None:
    return latest_of(await visible_periods(session, cluster_id, include_drafts=include_drafts), today)


def latest_of(periods: Sequence[ReviewPeriod], today: date) -> ReviewPeriod | None:
    """The latest of ``periods`` (newest first) begun by ``today``, else the earliest."""
    return next((p for p in periods if p.starts_on <= today), periods[-1] if periods else None)


def period_of(periods: Sequence[ReviewPeriod], spec: PeriodSpec) -> ReviewPeriod | None:
    """The period of ``periods`` that ``spec`` names (what :func:`find_period` finds, among them)."""
    return next((p for p in periods if (p.year, p.kind, p.number) == (spec.year, spec.kind, spec.number)), None)


async def criteria_of(session: AsyncSession, cluster_id: int) -> list[Criterion]:
    return list(
        await session.scalars(
            select(Criterion).where(Criterion.cluster_id == cluster_id).order_by(Criterion.sort, Criterion.id)
        )
    )


async def compute_results(session: AsyncSession, period: ReviewPeriod) -> list[ReviewResult]:
    """Recompute totals, ranks and grades of a period from its scores (replacing earlier results)."""
    cluster = await session.get(Cluster, period.cluster_id)
    assert cluster is not None
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for score in await session.scalars(select(Score).where(Score.period_id == period.id)):
        totals[score.unit_id] += score.points
    ranks = competition_ranks(dict(totals))
    await session.execute(delete(ReviewResult).where(ReviewResult.period_id == period.id))
    results = [
        ReviewResult(
            period_id=period.id,
            unit_id=unit_id,
            total=total,
            rank=ranks[unit_id],
            grade=grade_for(total, cluster.grade_thresholds or []),
        )
        for unit_id, total in totals.items()
    ]
    session.add_all(results)
    await session.flush()
    return results


# The reads of a period's table, built once with bound parameters, as Core selects: a table is read
# for every question about scores, and loading its rows as ORM objects cost more than the query.
@cache
def _results_query() -> Select[Any]:
    results, units = ReviewResult.__table__.c, Unit.__table__.c
    return (
        select(*snapshot_columns(ReviewResult), *snapshot_columns(Unit))
        .join_from(ReviewResult.__table__, Unit.__table__, units.id == results.unit_id)
        .where(results.period_id == bindparam("period_id"))
        .order_by(results.rank, units.id)
    )


@cache
def _scores_query() -> Select[tuple[int, int, Decimal]]:
    scores = Score.__table__.c
    return select(scores.unit_id, scores.criterion_id, scores.points).where(scores.period_id == bindparam("period_id"))


async def result_table(
    session: AsyncSession, period: ReviewPeriod, *, criteria: list[Criterion] | None = None
) -> ResultTable:
    """``criteria``: the period's cluster's, when the caller has them. The rows' results and units are
    frozen snapshots (:func:`bot.services.units.snapshot`), read only."""
    if criteria is None:
        criteria = await criteria_of(session, period.cluster_id)
    codes = {c.id: c.code for c in criteria}
    params = {"period_id": period.id}
    split = len(snapshot_columns(ReviewResult))
    rows = (await session.execute(_results_query(), params)).all()
    scores: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for unit_id, criterion_id, points in await session.execute(_scores_query(), params):
        scores[unit_id][codes.get(criterion_id, "?")] = points
    table = []
    for row in rows:
        unit = snapshot_of_row(Unit, row, split)
        table.append(ResultRow(snapshot_of_row(ReviewResult, row), unit, scores[unit.id]))
    return ResultTable(period, criteria, table)


@dataclass(frozen=True)
class PeriodTotal:
    period: ReviewPeriod
    total: Decimal
    rank: int
    grade: str | None


@cache
def _trend_query(include_drafts: bool) -> Select[Any]:
    periods, results = ReviewPeriod.__table__.c, ReviewResult.__table__.c
    query = (
        select(*snapshot_columns(ReviewPeriod), results.total, results.rank, results.grade)
        .join_from(ReviewPeriod.__table__, ReviewResult.__table__, results.period_id == periods.id)
        .where(
            periods.cluster_id == bindparam("cluster_id"),
            periods.kind == bindparam("kind"),
            periods.ends_on <= bindparam("ends_on"),
            results.unit_id == bindparam("unit_id"),
        )
    )
    if not include_drafts:
        query = query.where(periods.status == "published")
    return query.order_by(periods.ends_on)


async def unit_trend(
    session: AsyncSession, period: ReviewPeriod, unit_id: int, *, include_drafts: bool
) -> list[PeriodTotal]:
    """A unit's total, rank and grade in each period of ``period``'s kind (quarters with quarters) it
    was scored in, up to ``period``, oldest first (the periods as frozen snapshots)."""
    params = {"cluster_id": period.cluster_id, "kind": period.kind, "ends_on": period.ends_on, "unit_id": unit_id}
    rows = await session.execute(_trend_query(include_drafts), params)
    return [PeriodTotal(snapshot_of_row(ReviewPeriod, row), *row[-3:]) for row in rows]


def period_spec(period: ReviewPeriod) -> PeriodSpec:
    return PeriodSpec(year=period.year, kind=period.kind, number=period.number)


# --- A cluster's results whole, for read-only questions -----------------------------------------------


@dataclass(frozen=True, eq=False)
class ResultsBook:
    """A cluster's review periods, criteria, grade bands and every period's table, as frozen snapshots
    read at one content version (:func:`load_book`). Read-only questions about scores are answered
    from it without a statement (the handlers keep it per content version: ``Context.kept_value``);
    its methods answer what :func:`visible_periods`, :func:`result_table`, :func:`unit_trend` and
    :func:`grade_bands` read, and tests hold the two in step. What writes reads the database."""

    periods: tuple[ReviewPeriod, ...]  # newest first (ends_on, then id, descending)
    published: tuple[ReviewPeriod, ...]  # those of them published, in the same order
    criteria: tuple[Criterion, ...]  # by sort, then id
    bands: tuple[GradeBand, ...]
    tables: Mapping[int, ResultTable]  # period id -> its table

    def visible_periods(self, *, include_drafts: bool) -> tuple[ReviewPeriod, ...]:
        """The periods an asker may see (drafts for admins only), newest first."""
        return self.periods if include_drafts else self.published

    def table(self, period: ReviewPeriod) -> ResultTable:
        """The table of one of :attr:`periods`."""
        return self.tables[period.id]

    def unit_trend(self, period: ReviewPeriod, unit_id: int, *, include_drafts: bool) -> list[PeriodTotal]:
        """:func:`unit_trend`, from the book: oldest first (equal end days by id)."""
        trend = []
        for earlier in reversed(self.periods):
            if earlier.kind != period.kind or earlier.ends_on > period.ends_on:
                continue
            if not include_drafts and earlier.status != "published":
                continue
            row = self.tables[earlier.id].row_of(unit_id)
            if row is not None:
                trend.append(PeriodTotal(earlier, row.result.total, row.result.rank, row.result.grade))
        return trend


@cache
def _book_periods_query() -> Select[Any]:
    """The cluster's grade thresholds beside each of its periods, newest first: one row with no
    period when it has none (the cluster outer-joined, so that the thresholds cost no statement)."""
    clusters, periods = Cluster.__table__.c, ReviewPeriod.__table__.c
    return (
        select(clusters.grade_thresholds, *snapshot_columns(ReviewPeriod))
        .select_from(Cluster.__table__)
        .outerjoin(ReviewPeriod.__table__, periods.cluster_id == clusters.id)
        .where(clusters.id == bindparam("cluster_id"))
        .order_by(periods.ends_on.desc(), periods.id.desc())
    )


@cache
def _book_criteria_query() -> Select[Any]:
    criteria = Criterion.__table__.c
    return (
        select(*snapshot_columns(Criterion))
        .where(criteria.cluster_id == bindparam("cluster_id"))
        .order_by(criteria.sort, criteria.id)
    )


@cache
def _book_results_query() -> Select[Any]:
    results, units, periods = ReviewResult.__table__.c, Unit.__table__.c, ReviewPeriod.__table__.c
    return (
        select(*snapshot_columns(ReviewResult), *snapshot_columns(Unit))
        .join_from(ReviewResult.__table__, Unit.__table__, units.id == results.unit_id)
        .join(ReviewPeriod.__table__, periods.id == results.period_id)
        .where(periods.cluster_id == bindparam("cluster_id"))
        .order_by(results.period_id, results.rank, units.id)
    )


@cache
def _book_scores_query() -> Select[tuple[int, int, int, Decimal]]:
    scores, periods = Score.__table__.c, ReviewPeriod.__table__.c
    return (
        select(scores.period_id, scores.unit_id, scores.criterion_id, scores.points)
        .join_from(Score.__table__, ReviewPeriod.__table__, periods.id == scores.period_id)
        .where(periods.cluster_id == bindparam("cluster_id"))
    )


async def load_book(session: AsyncSession, cluster_id: int) -> ResultsBook:
    """The :class:`ResultsBook` of a cluster, in four selects (a cluster is one year's: a few
    periods of a few units, a few hundred scores at most)."""
    params = {"cluster_id": cluster_id}
    thresholds: list[list[object]] = []
    periods = []
    for row in await session.execute(_book_periods_query(), params):
        thresholds = row[0] or []
        if row[1] is not None:  # the period's id: None when the cluster has no period
            periods.append(snapshot_of_row(ReviewPeriod, row, 1))
    criteria = tuple(snapshot_of_row(Criterion, row) for row in await session.execute(_book_criteria_query(), params))
    codes = {c.id: c.code for c in criteria}
    scores: dict[tuple[int, int], dict[str, Decimal]] = defaultdict(dict)  # (period, unit) -> code -> points
    for period_id, unit_id, criterion_id, points in await session.execute(_book_scores_query(), params):
        scores[period_id, unit_id][codes.get(criterion_id, "?")] = points
    rows: dict[int, list[ResultRow]] = defaultdict(list)
    split = len(snapshot_columns(ReviewResult))
    for row in await session.execute(_book_results_query(), params):
        result, unit = snapshot_of_row(ReviewResult, row), snapshot_of_row(Unit, row, split)
        points = MappingProxyType(scores.get((result.period_id, unit.id), {}))
        rows[result.period_id].append(ResultRow(result, unit, points))
    tables = {p.id: ResultTable(p, criteria, tuple(rows.get(p.id, ()))) for p in periods}
    published = tuple(p for p in periods if p.status == "published")
    return ResultsBook(tuple(periods), published, criteria, tuple(bands_of(thresholds)), MappingProxyType(tables))


# --- Entering and publishing scores (admins) ------------------------------------------------------


def invalid_score(criterion: Criterion, value: object, reason: str) -> InvalidScore:
    """The refusal of ``value`` for ``criterion`` (``reason``: not_a_number / out_of_range)."""
    return InvalidScore(
        criterion=criterion.code.upper(),
        name=criterion.name,
        value=value,
        minimum=criterion.min_points,
        maximum=criterion.max_points,
        reason=reason,
    )


_NUMBER = re.compile(r"[+\-−]?\d+(?:[.,]\d+)?")


def parse_points(text: str, criteria: list[Criterion]) -> dict[str, Decimal]:
    """'G1=18,5 G2=27 TT=+1' or the numbers in rubric order ('18,5 27,5 13,5 13,5 9 9,5 +1').
    Checks each against its criterion's range; raises a domain error saying which and how. A code
    given something that is not a number ('G1=abc') is refused, never read as the digit of its code."""
    codes = {c.code.upper(): c for c in criteria}
    named = re.findall(r"([A-Za-z]{1,4}\d{0,2})\s*[=:]\s*([^\s=:]*)", text)
    if named:
        pairs = [(code.upper(), value) for code, value in named]
    else:
        numbers = _NUMBER.findall(text)
        if not numbers:
            raise UserError(
                "Viết điểm như: G1=18,5 G2=27,5 ... TT=+1, hoặc các số theo thứ tự " + ", ".join(codes) + "."
            )
        if len(numbers) > len(criteria):
            raise UserError(
                f"Có {len(numbers)} số nhưng biểu điểm chỉ có {len(criteria)} tiêu chí: {', '.join(codes)}."
            )
        pairs = list(zip(codes, numbers, strict=False))
    points: dict[str, Decimal] = {}
    for code, given in pairs:
        raw = given.rstrip(",;.")
        criterion = codes.get(code)
        if criterion is None:
            raise UnknownCriterion(code=code, known=tuple(codes))
        if not _NUMBER.fullmatch(raw):
            raise invalid_score(criterion, raw, "not_a_number")
        value = Decimal(raw.replace(",", ".").replace("−", "-"))
        if not criterion.min_points <= value <= criterion.max_points:
            raise invalid_score(criterion, value, "out_of_range")
        points[code] = value
    return points


def required_criteria(criteria: Sequence[Criterion]) -> list[Criterion]:
    """The lines every unit's sheet must have (the ± adjustment line may stay empty)."""
    return [c for c in criteria if c.kind != "adjustment"]


async def missing_criteria(
    session: AsyncSession, period: ReviewPeriod | None, unit_id: int, criteria: list[Criterion], given: set[str]
) -> list[Criterion]:
    """The required criteria a unit would still have no points for once ``given`` (codes) is written."""
    scored: set[int] = set()
    if period is not None:
        scored = set(
            await session.scalars(
                select(Score.criterion_id).where(Score.period_id == period.id, Score.unit_id == unit_id)
            )
        )
    return [c for c in required_criteria(criteria) if c.id not in scored and c.code.upper() not in given]


async def ensure_period(session: AsyncSession, cluster_id: int, spec: PeriodSpec) -> ReviewPeriod:
    period = await find_period(session, cluster_id, spec)
    if period is None:
        start, end = spec.bounds()
        period = ReviewPeriod(
            cluster_id=cluster_id, year=spec.year, kind=spec.kind, number=spec.number, starts_on=start, ends_on=end
        )
        session.add(period)
        await session.flush()
    return period


async def enter_scores(
    session: AsyncSession,
    *,
    period: ReviewPeriod,
    unit_id: int,
    points: dict[str, Decimal],
    member_id: int | None,
    now: datetime,
) -> dict[str, tuple[Decimal | None, Decimal]]:
    """Write a unit's points (code -> points) and recompute the period's totals, ranks and grades.
    Returns code -> (before, after)."""
    criteria = {c.code.upper(): c for c in await criteria_of(session, period.cluster_id)}
    existing = {
        s.criterion_id: s
        for s in await session.scalars(select(Score).where(Score.period_id == period.id, Score.unit_id == unit_id))
    }
    changes: dict[str, tuple[Decimal | None, Decimal]] = {}
    for code, value in points.items():
        criterion = criteria[code]
        score = existing.get(criterion.id)
        changes[code] = (score.points if score else None, value)
        if score is None:
            session.add(
                Score(
                    period_id=period.id,
                    unit_id=unit_id,
                    criterion_id=criterion.id,
                    points=value,
                    entered_by_member_id=member_id,
                    updated_at=now,
                )
            )
        else:
            score.points, score.entered_by_member_id, score.updated_at = value, member_id, now
    await session.flush()
    await compute_results(session, period)
    return changes


async def publish(session: AsyncSession, period: ReviewPeriod, now: datetime) -> None:
    if period.status == "published":
        raise UserError(f"Kết quả {period_spec(period).label()} đã công bố từ trước.")
    count = await session.scalar(
        select(func.count()).select_from(ReviewResult).where(ReviewResult.period_id == period.id)
    )
    if not count:
        raise UserError(f"Kỳ {period_spec(period).label()} chưa có điểm nào; nhập bằng /chamdiem trước.")
    period.status, period.published_at = "published", now
    await session.flush()
