"""Review periods, scores and results: totals, ranks (ties share a rank) and grades."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Cluster, Criterion, ReviewPeriod, ReviewResult, Score, Unit
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
class ResultRow:
    result: ReviewResult
    unit: Unit
    scores: dict[str, Decimal]  # criterion code -> points


@dataclass(frozen=True)
class ResultTable:
    period: ReviewPeriod
    criteria: list[Criterion]
    rows: list[ResultRow]  # by rank

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
    periods = await visible_periods(session, cluster_id, include_drafts=include_drafts)
    return next((p for p in periods if p.starts_on <= today), periods[-1] if periods else None)


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


async def result_table(session: AsyncSession, period: ReviewPeriod) -> ResultTable:
    criteria = await criteria_of(session, period.cluster_id)
    codes = {c.id: c.code for c in criteria}
    rows = await session.execute(
        select(ReviewResult, Unit)
        .join(Unit, Unit.id == ReviewResult.unit_id)
        .where(ReviewResult.period_id == period.id)
        .order_by(ReviewResult.rank, Unit.id)
    )
    scores: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for score in await session.scalars(select(Score).where(Score.period_id == period.id)):
        scores[score.unit_id][codes.get(score.criterion_id, "?")] = score.points
    return ResultTable(
        period,
        criteria,
        [ResultRow(result, unit, scores[unit.id]) for result, unit in rows.all()],
    )


def period_spec(period: ReviewPeriod) -> PeriodSpec:
    return PeriodSpec(year=period.year, kind=period.kind, number=period.number)
