"""Focus tasks, planned events, drill plans and directives are held whole per content version for
read-only questions (handlers/kept.py) and filtered in Python: the filters agree with the services'
selects (same rows, same order, same related rows), such a question at a steady content version
sends no statement, and a change made through a service is in the very next answer."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot import lexicon
from bot.app import App
from bot.models import Directive, DrillPlan, Event, Task, TaskAssignment, Unit
from bot.services import drills, schedule, tasks
from bot.services.units import load_directory
from tests.conftest import local
from tests.test_read_path import NOW, TELEGRAM, message, officer, statements, texts


def plain(value: Any) -> Any:
    """A snapshot (or a list of them) as plain values, compared by content (snapshots compare by identity)."""
    if dataclasses.is_dataclass(value):
        return tuple(plain(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, list | tuple):
        return tuple(plain(v) for v in value)
    return value


def event_columns(event: Any) -> tuple[Any, ...]:
    """An event's own columns, without the units read with it."""
    return tuple(getattr(event, c.key) for c in Event.__table__.columns)


@pytest.fixture
async def uncached(demo_app: App) -> App:
    demo_app.dispatcher.answers.size = 0
    await officer(demo_app, "U-KB", "7001")
    return demo_app


async def _edge_rows(app: App, long_event: bool = True) -> None:
    """Rows the demo lacks: cancelled ones, NULL periods and ends, a long event, other years."""
    tz = app.settings.tz
    async with app.sessions() as session, session.begin():
        kb = await session.scalar(select(Unit).where(Unit.key == "U-KB"))
        bl = await session.scalar(select(Unit).where(Unit.key == "U-BL"))

        def event(**fields: Any) -> Event:
            return Event(created_at=NOW, updated_at=NOW, **fields)

        session.add_all(
            [
                event(
                    kind="meeting",
                    title="Giao ban",
                    starts_at=datetime(2022, 12, 5, 22, tzinfo=tz),
                    ends_at=datetime(2022, 12, 6, 0, tzinfo=tz),
                    units=[kb],
                ),
                event(
                    kind="meeting",
                    title="Họp không giờ kết thúc",
                    starts_at=datetime(2022, 6, 23, 14, tzinfo=tz),
                    host_unit_id=bl.id,
                ),
                event(
                    kind="conference",
                    subkind="so_ket_6t",
                    title="Sơ kết hủy",
                    status="cancelled",
                    starts_at=datetime(2022, 7, 1, 8, tzinfo=tz),
                    cluster_wide=True,
                ),
                event(
                    kind="conference",
                    subkind="tong_ket",
                    title="Tổng kết 2021",
                    starts_at=datetime(2021, 12, 31, 23, tzinfo=tz),
                    ends_at=datetime(2022, 1, 1, 1, tzinfo=tz),
                    units=[kb, bl],
                ),
                event(  # at the first instant of a local year
                    kind="conference",
                    subkind="phat_dong",
                    title="Phát động 2023",
                    starts_at=datetime(2023, 1, 1, 0, tzinfo=tz),
                ),
                event(
                    kind="other",
                    title="Sự kiện",
                    starts_at=datetime(2022, 6, 22, 10, tzinfo=tz),
                    ends_at=datetime(2022, 6, 22, 10, tzinfo=tz),
                    cluster_wide=True,
                ),
            ]
        )
        if long_event:
            session.add(
                event(
                    kind="inspection",
                    title="Kiểm tra dài",
                    starts_at=datetime(2021, 3, 1, 8, tzinfo=tz),
                    ends_at=datetime(2023, 3, 1, 8, tzinfo=tz),
                    units=[bl],
                )
            )
        session.add(  # ends before it starts (no form allows it; an import might)
            event(
                kind="meeting",
                title="Ngược",
                starts_at=datetime(2022, 6, 24, 9, tzinfo=tz),
                ends_at=datetime(2022, 6, 24, 8, tzinfo=tz),
                units=[kb],
            )
        )
        session.add_all(
            [
                Task(
                    code="FT20", title="Không kỳ", period=None, due_on=None, assignments=[TaskAssignment(unit_id=kb.id)]
                ),
                Task(code="FT21", title="Quý 3", period="2022-Q3", due_on=date(2022, 9, 1)),
                Task(code="FT22", title="Đã hủy", period="2022-H2", status="cancelled", due_on=date(2022, 8, 1)),
                Task(
                    code="FT23",
                    title="Năm trước",
                    period="2021-H2",
                    due_on=date(2021, 12, 1),
                    assignments=[TaskAssignment(unit_id=bl.id), TaskAssignment(unit_id=kb.id, status="done")],
                ),
            ]
        )
        plan = await session.scalar(select(DrillPlan).where(DrillPlan.area_unit_id.is_not(None)).limit(1))
        session.add_all(
            [
                DrillPlan(
                    organising_unit_id=plan.organising_unit_id,
                    area_unit_id=plan.area_unit_id,
                    year=2019,
                    title="Năm 2019",
                ),
                DrillPlan(
                    organising_unit_id=plan.organising_unit_id,
                    area_unit_id=plan.area_unit_id,
                    year=2023,
                    title="Đã hủy",
                    status="cancelled",
                ),
            ]
        )
        milestone = await session.scalar(select(Event).where(Event.drill_plan_id == plan.id).limit(1))
        milestone.status = "cancelled"
        session.add_all(
            [
                Directive(key="DIR-T1", kind="chi_thi", number="087", title="Chỉ thị có số 0 đứng đầu"),
                Directive(key="DIR-T2", kind="phong_trao", number=None, title="Phong trào thi đua quyết thắng"),
            ]
        )


async def test_the_kept_filters_agree_with_the_selects(uncached: App) -> None:
    await _edge_rows(uncached)
    async with uncached.dispatcher.read_sessions() as session:
        every_task = await tasks.all_tasks(session)
        for periods in [None, [], ["2022-H2"], ["2022-H2", "2022-Q3"], ["2021-H2"], ["2030-H1"]]:
            for year in [None, 2021, 2022, 2023]:
                expected = await tasks.tasks_for(session, periods=periods, year=year)
                assert plain(tasks.select_tasks(every_task, periods=periods, year=year)) == plain(expected)
        assert any(t.period is None for t in every_task) and not any(t.status == "cancelled" for t in every_task)

        every_directive = await schedule.all_directives(session)
        for number in [None, "87", "087", "0087", "05", "5", "12", "999"]:
            for words in [None, "", "87", "thi đua", "chỉ thị", "xyz"]:
                found = await schedule.find_directives(session, number, words)
                assert plain(schedule.directives_in(every_directive, number, words)) == plain(found)

        every_drill = await drills.all_drills(session)
        directory = await load_directory(session)
        for area in directory.units:
            found = await drills.drills_of_area(session, area)
            assert plain(drills.drills_of_area_in(every_drill, area)) == plain(found), area.name
        for organiser in directory.units:
            for year in range(2018, 2025):
                shared, found = await drills.programme(session, organiser.id, year)
                kept_shared, kept = drills.programme_in(every_drill, organiser.id, year)
                assert plain(kept_shared) == plain(shared) and plain(kept) == plain(found)


@pytest.mark.parametrize("long_event", [True, False], ids=["a two-year event", "short events"])
async def test_the_kept_event_filters_agree_with_the_selects(uncached: App, long_event: bool) -> None:
    """Without a long event the bisection of :class:`schedule.PlannedEvents` leaves most events out."""
    await _edge_rows(uncached, long_event)
    tz = uncached.settings.tz
    async with uncached.dispatcher.read_sessions() as session:
        events = await schedule.planned_events(session)
        kinds_asked = [None, ("conference",), ("meeting",), ("inspection",), ("drill",), ("conference", "meeting")]
        day = date(2021, 12, 25)
        while day <= date(2023, 1, 5):
            start, end = schedule.local_day_bounds(day, day, tz)
            for kinds in kinds_asked[:3] if day.day % 3 else kinds_asked:
                found = await schedule.events_between(session, start, end, kinds=kinds)
                kept = schedule.events_in(events, start, end, kinds=kinds)
                assert [event_columns(e) for e in kept] == [event_columns(e) for e in found], (day, kinds)
            day += timedelta(days=1)
        units = [u.id for u in (await load_directory(session)).units]
        for first, last in [(date(2022, 6, 20), date(2022, 6, 26)), (date(2022, 1, 1), date(2022, 12, 31))]:
            start, end = schedule.local_day_bounds(first, last, tz)
            for unit_id in [None, *units]:
                for kinds in kinds_asked:
                    for limit in (None, 0, 1, 3):
                        found = await schedule.events_between(
                            session, start, end, kinds=kinds, unit_id=unit_id, limit=limit
                        )
                        kept = schedule.events_in(events, start, end, kinds=kinds, unit_id=unit_id, limit=limit)
                        assert [event_columns(e) for e in kept] == [event_columns(e) for e in found]

        for subkinds in [None, *(kinds for _, kinds in lexicon.CONFERENCE_WORDS)]:
            for year in [None, 2021, 2022, 2023]:
                found = await schedule.find_conferences(session, subkinds=subkinds, year=year, tz=tz)
                kept = schedule.conferences_in(events, subkinds=subkinds, year=year, tz=tz)
                assert plain(kept) == plain(found), (subkinds, year)

        moments = [NOW, local("2021-01-01 00:00"), local("2023-06-01 00:00")]
        for event in events.events:
            for moment in (event.starts_at, event.ends_at):
                if moment is not None:
                    moments += [moment - timedelta(microseconds=1), moment, moment + timedelta(microseconds=1)]
        for moment in moments:
            for limit in (10, 2):
                found = await schedule.upcoming_conferences(session, moment, limit)
                kept = schedule.upcoming_in(events, moment, limit)
                assert [event_columns(e) for e in kept] == [event_columns(e) for e in found], moment
                assert [[u.id for u in e.units] for e in kept] == [sorted(u.id for u in e.units) for e in found]


async def _kim_bang(session: Any) -> Unit:
    return await session.scalar(select(Unit).where(Unit.key == "U-KB"))


async def _report_ft1(app: App) -> None:
    async with app.sessions() as session, session.begin():
        task = await tasks.find_task(session, "FT1")
        kb = await _kim_bang(session)
        await tasks.report_progress(
            session, task, kb.id, status="done", progress=100, note="Đã xong", member_id=None, now=NOW
        )


async def _new_task(app: App) -> None:
    async with app.sessions() as session, session.begin():
        await tasks.new_task(
            session,
            cluster_id=None,
            title="Nhiệm vụ mới thêm",
            due_on=date(2022, 7, 10),
            unit_ids=[(await _kim_bang(session)).id],
            now=NOW,
            today=NOW.date(),
        )


async def _move_conference(app: App) -> None:
    async with app.sessions() as session, session.begin():
        event = await session.scalar(
            select(Event).options(selectinload(Event.units)).where(Event.subkind == "so_ket_6t")
        )
        await schedule.change_event(session, event, {"location": "Hội trường mới"}, now=NOW, tz=app.settings.tz)


async def _new_meeting(app: App) -> None:
    async with app.sessions() as session, session.begin():
        kb = await _kim_bang(session)
        await schedule.new_event(
            session,
            title="Giao ban đột xuất",
            starts_at=local("2022-06-23 14:00"),
            ends_at=local("2022-06-23 16:00"),
            session_name=None,
            location=None,
            host_unit_id=kb.id,
            units=[kb],
            cluster_wide=False,
            cluster_id=None,
            now=NOW,
            tz=app.settings.tz,
        )


async def _cancel_inspection(app: App) -> None:
    async with app.sessions() as session, session.begin():
        event = await session.scalar(select(Event).options(selectinload(Event.units)).where(Event.kind == "inspection"))
        await schedule.cancel_event(session, event, now=NOW, tz=app.settings.tz)


async def _new_drill(app: App) -> None:
    async with app.sessions() as session, session.begin():
        area = await session.scalar(select(Unit).where(Unit.short_name == "Tân Sơn"))
        await drills.new_drill(
            session,
            area=area,
            review_day=date(2022, 9, 12),
            exercise=None,
            now=NOW,
            today=NOW.date(),
            tz=app.settings.tz,
        )


async def _retitle_directive(app: App) -> None:
    async with app.sessions() as session, session.begin():
        directive = await session.scalar(select(Directive).where(Directive.number == "87"))
        directive.title = "Tiêu đề đã sửa"


# (question, statements at a steady content version, a change made through a service)
CHANGES: list[tuple[str, int, Callable[[App], Awaitable[None]]]] = [
    ("Kim Bảng đã báo cáo FT1 chưa", 0, _report_ft1),
    ("nhiệm vụ 6 tháng cuối năm", 0, _new_task),
    ("nv nao sap den han", 0, _new_task),
    ("hội nghị sơ kết 6 tháng ở đâu, khi nào?", 0, _move_conference),
    ("mai ai truc", 0, _new_meeting),  # the day's shifts come from the roster window
    ("lịch họp tuần này", 0, _new_meeting),
    ("/lich kiểm tra", 0, _cancel_inspection),
    ("/dientap Tân Sơn", 0, _new_drill),
    ("năm nay huyện diễn tập mấy xã?", 0, _new_drill),
    ("chỉ thị 87 là gì?", 0, _retitle_directive),
]


@pytest.mark.parametrize(("question", "expected", "change"), CHANGES, ids=[q for q, _, _ in CHANGES])
async def test_a_steady_version_sends_no_statement_and_a_change_is_answered_at_once(
    uncached: App, question: str, expected: int, change: Callable[[App], Awaitable[None]]
) -> None:
    dispatcher = uncached.dispatcher
    before = texts(await dispatcher.handle(message("7001", question), TELEGRAM))
    with statements(uncached) as seen:
        assert texts(await dispatcher.handle(message("7001", question), TELEGRAM)) == before
    assert len(seen) == expected, "\n".join(seen)
    await change(uncached)
    after = texts(await dispatcher.handle(message("7001", question), TELEGRAM))
    assert after != before
    fresh = App(uncached.settings)  # nothing kept: reads every table afresh
    try:
        assert after == texts(await fresh.dispatcher.handle(message("7001", question), TELEGRAM))
    finally:
        await fresh.close()
