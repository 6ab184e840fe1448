"""The results book (bot/services/results.ResultsBook): a cluster's periods, results, scores, criteria
and grade bands, read whole once per content version, from which read-only questions about scores are
answered without a statement. It must answer what the SQL reads answer (drafts for admins only), and a
change through a service must show in the next answer."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import App
from bot.models import Cluster, Unit
from bot.services import results
from bot.services.units import snapshot
from bot.vntime import PeriodSpec
from tests.conftest import local
from tests.test_read_path import TELEGRAM, message, officer, statements

NOW = local("2022-06-22 10:00")
UNITS = ("U-KB", "U-TL", "U-BL", "U-PL", "U-DT", "U-LN")


def fields(row: Any) -> dict[str, Any]:
    """A row's (ORM object's or snapshot's) column values."""
    return dataclasses.asdict(row if dataclasses.is_dataclass(row) else snapshot(row))


async def more_periods(app: App) -> int:
    """Beside the demo's Q2/2022: Q4/2021 and Q1/2022 published (Q1 with a tie), the first half of
    2022 a draft with a unit missing a criterion, Q3/2022 a draft. Returns the cluster's id."""
    async with app.sessions() as session, session.begin():
        cluster = await session.scalar(select(Cluster).order_by(Cluster.id))
        units = {u.key: u.id for u in await session.scalars(select(Unit).where(Unit.key.in_(UNITS)))}
        criteria = await results.criteria_of(session, cluster.id)
        plans = [
            (PeriodSpec(2021, "quarter", 4), True, 6),
            (PeriodSpec(2022, "quarter", 1), True, 6),
            (PeriodSpec(2022, "half", 1), False, 4),
            (PeriodSpec(2022, "quarter", 3), False, 3),
        ]
        for seed, (spec, publish, count) in enumerate(plans):
            period = await results.ensure_period(session, cluster.id, spec)
            for i, key in enumerate(UNITS[:count]):
                points = {
                    c.code.upper(): min(c.max_points, c.max_points - Decimal((i * 3 + j + seed) % 4) / 2)
                    for j, c in enumerate(criteria)
                    if c.kind != "adjustment" and not (seed == 2 and i == 3 and j == 1)
                }
                if seed == 1 and i in (1, 2):  # equal totals share a rank
                    points = {c.code.upper(): c.max_points for c in criteria if c.kind != "adjustment"}
                if i == 0:
                    points["TT"] = Decimal("-0.5")
                await results.enter_scores(
                    session, period=period, unit_id=units[key], points=points, member_id=None, now=NOW
                )
            if publish:
                await results.publish(session, period, NOW)
        return cluster.id


async def test_the_book_answers_what_the_sql_reads_answer(demo_app: App) -> None:
    cluster_id = await more_periods(demo_app)
    async with demo_app.sessions() as session:
        book = await results.load_book(session, cluster_id)
        assert len(book.periods) == 5
        for drafts in (True, False):
            periods = await results.visible_periods(session, cluster_id, include_drafts=drafts)
            assert [fields(p) for p in book.visible_periods(include_drafts=drafts)] == [fields(p) for p in periods]
        assert len(book.visible_periods(include_drafts=False)) == 3
        assert list(book.bands) == await results.grade_bands(session, cluster_id)
        assert [fields(c) for c in book.criteria] == [fields(c) for c in await results.criteria_of(session, cluster_id)]
        unit_ids = {u.id for u in await session.scalars(select(Unit))}
        for period in book.periods:
            table, expected = book.table(period), await results.result_table(session, period)
            assert table.period is period and list(table.criteria) == list(book.criteria)
            assert [(fields(r.result), fields(r.unit), dict(r.scores)) for r in table.rows] == [
                (fields(r.result), fields(r.unit), r.scores) for r in expected.rows
            ]
            for unit_id in unit_ids:
                for drafts in (True, False):
                    trend = book.unit_trend(period, unit_id, include_drafts=drafts)
                    sql = await results.unit_trend(session, period, unit_id, include_drafts=drafts)
                    assert [(fields(t.period), t.total, t.rank, t.grade) for t in trend] == [
                        (fields(t.period), t.total, t.rank, t.grade) for t in sql
                    ]
    # Sanity of the data compared: ties, a missing criterion, a trend of several periods.
    q1 = next(p for p in book.periods if (p.year, p.kind, p.number) == (2022, "quarter", 1))
    assert [r.result.rank for r in book.table(q1).rows][:3] == [1, 1, 3]
    assert max(len(book.unit_trend(p, u, include_drafts=True)) for p in book.periods for u in unit_ids) == 4
    # Kept whole per content version, so read only.
    with pytest.raises(TypeError):
        book.table(q1).rows[0].scores["G1"] = Decimal(0)  # type: ignore[index]


async def test_a_cluster_without_periods_has_an_empty_book(empty_app: App) -> None:
    async with empty_app.sessions() as session, session.begin():
        cluster = Cluster(key="C-T", name="Cụm thử", year=2022, grade_thresholds=[[50, "Đạt"]])
        session.add(cluster)
        await session.flush()
        book = await results.load_book(session, cluster.id)
    assert book.periods == () and not book.tables
    assert [(b.grade, b.minimum, b.below) for b in book.bands] == [("Đạt", Decimal(50), None)]


async def ask(app: App, user: str, text: str) -> str:
    return (await app.dispatcher.handle(message(user, text), TELEGRAM))[0].text


async def test_questions_about_scores_cost_no_statement_and_see_each_change(demo_app: App) -> None:
    demo_app.dispatcher.answers.size = 0
    demo_app.versions.refresh = 3600  # the version is read again after this process's commits only
    await officer(demo_app, "U-BL", "7002")
    asked = "Bình Lục quý II được bao nhiêu điểm?"
    assert "84,0 điểm, xếp thứ 7/7" in await ask(demo_app, "7002", asked)
    for question in (
        asked,
        "kết quả chấm điểm quý 2",
        "bao nhiêu điểm thì được loại xuất sắc",
        "đơn vị nào đứng cuối bảng",
        "Thanh Liêm hơn Bình Lục mấy điểm",
        "điểm dân vận của Phủ Lý",
        "/xephang quý 2",
    ):
        with statements(demo_app) as seen:
            assert "Xin lỗi" not in await ask(demo_app, "7002", question)
        assert seen == [], question

    # Scores entered through the service: the next answer has them.
    async with demo_app.sessions() as session, session.begin():
        cluster_id = await session.scalar(select(Cluster.id).order_by(Cluster.id))
        q2 = await results.find_period(session, cluster_id, PeriodSpec(2022, "quarter", 2))
        unit_id = await session.scalar(select(Unit.id).where(Unit.key == "U-BL"))
        await results.enter_scores(
            session, period=q2, unit_id=unit_id, points={"G1": Decimal(20)}, member_id=None, now=NOW
        )
    assert "87,0 điểm, xếp thứ 5/7" in await ask(demo_app, "7002", asked)
    assert "5. Bình Lục: 87,0 điểm" in await ask(demo_app, "7002", "kết quả chấm điểm quý 2")

    # A draft is an admin's only; published, everyone's.
    async with demo_app.sessions() as session, session.begin():
        q3 = await results.ensure_period(session, cluster_id, PeriodSpec(2022, "quarter", 3))
        await results.enter_scores(
            session, period=q3, unit_id=unit_id, points={"G1": Decimal(19)}, member_id=None, now=NOW
        )
    assert "Chưa có kết quả quý III/2022" in await ask(demo_app, "7002", "kết quả chấm điểm quý 3")
    async with demo_app.sessions() as session, session.begin():
        await results.publish(
            session, await results.find_period(session, cluster_id, PeriodSpec(2022, "quarter", 3)), NOW
        )
    assert "1. Bình Lục: 19,0 điểm" in await ask(demo_app, "7002", "kết quả chấm điểm quý 3")

    # The cluster's grade thresholds changed: the next answer has the new ones.
    async with demo_app.sessions() as session, session.begin():
        cluster = await session.get(Cluster, cluster_id)
        cluster.grade_thresholds = [[95, "Xuất sắc"], [0, "Đạt"]]
    assert "từ 95,0 điểm trở lên" in await ask(demo_app, "7002", "bao nhiêu điểm thì được loại xuất sắc")


async def test_an_admin_sees_drafts_from_the_same_book(demo_app: App) -> None:
    """One book per cluster serves officers and admins: drafts are filtered per asker, not per book."""
    await more_periods(demo_app)
    demo_app.dispatcher.answers.size = 0
    await officer(demo_app, "U-KB", "7001")
    from tests.chatting import ask as console_ask
    from tests.chatting import console

    admin = await console(demo_app, "admin")
    for _ in range(2):  # in either order
        assert "chưa công bố" in await console_ask(admin, "kết quả chấm điểm quý 3")
        assert "Chưa có kết quả quý III/2022" in await ask(demo_app, "7001", "kết quả chấm điểm quý 3")
    # The period pickers: an officer's lists the published periods only.
    buttons = (await demo_app.dispatcher.handle(message("7001", "/xephang quý 2"), TELEGRAM))[0].buttons[-1]
    assert [b.text for b in buttons] == ["quý I/2022", "quý IV/2021"]
    admin_buttons = await console_ask(admin, "/xephang quý 2")
    assert "quý III/2022" in admin_buttons and "6 tháng đầu năm 2022" in admin_buttons
