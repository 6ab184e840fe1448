"""Duty questions about the weeks around today are answered from those weeks' shifts of every unit,
kept per content version (:class:`bot.services.duty.RosterWindow`): each of its reads gives exactly
what the database read of the same name gives, a change is seen by the next question, and a day
outside the window is still read from the database."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from bot.app import App
from bot.models import ClusterMember, DutyShift, Member, Unit
from bot.services import duty
from tests.test_read_path import TELEGRAM, message, statements, uncached  # noqa: F401  (a fixture)

TODAY = date(2022, 6, 22)
ROLES = ("truc_chi_huy", "truc_ban", "truc_chien", "truc_thong_tin", "mystery_role")


def _shift(s: Any) -> tuple[object, ...]:
    member = s.member
    return (
        s.id, s.unit_id, s.duty_date, s.role, s.member_id, s.person_label, s.starts_at, s.ends_at,
        s.status, s.reinforced, s.note, member.full_name if member else None, member.rank if member else None,
    )  # fmt: skip


def _days(days: list[duty.DutyDay]) -> list[tuple[date, list[tuple[object, ...]]]]:
    return [(d.day, [_shift(s) for s in d.shifts]) for d in days]


async def _more_shifts(app: App) -> tuple[list[int], list[int]]:
    """Shifts in random order around the demo's week: several per role and day, cancelled ones, teams,
    people; returns the units and the members."""
    rng = random.Random(4)
    tz = app.settings.tz
    async with app.sessions() as session, session.begin():
        units = list(await session.scalars(select(Unit.id).join(ClusterMember, ClusterMember.unit_id == Unit.id)))
        people = list(await session.scalars(select(Member.id)))
        rows = []
        for _ in range(600):
            day = TODAY + timedelta(days=rng.randint(-40, 45))
            start = datetime.combine(day, time(7, 30), tz)
            member = rng.choice([None, *people[:12]])
            rows.append(
                {
                    "unit_id": rng.choice(units),
                    "duty_date": day,
                    "role": rng.choice(ROLES),
                    "member_id": member,
                    "person_label": None if member else f"Tổ {rng.randint(1, 3)}",
                    "starts_at": start,
                    "ends_at": start + timedelta(days=1),
                    "status": rng.choice(["planned", "planned", "cancelled"]),
                    "version": 1,
                    "reinforced": rng.random() < 0.2,
                }
            )
        await session.execute(insert(DutyShift.__table__), rows)
    return units, people


async def test_the_window_reads_what_the_database_reads(uncached: App) -> None:  # noqa: F811
    units, people = await _more_shifts(uncached)
    rng = random.Random(9)
    async with uncached.dispatcher.read_sessions() as session:
        for today in (TODAY, TODAY + timedelta(days=5), TODAY - timedelta(days=13)):
            window = await duty.roster_window(session, today)
            assert (window.start, window.end) == duty.window_around(today)
            assert window.start.weekday() == 0 and window.end.weekday() == 6
            assert window.start <= today - timedelta(days=7) and window.end >= today + timedelta(days=20)
            spans = [(window.start, window.end), (today, today), (window.start, window.start), (window.end, window.end)]
            for _ in range(25):
                first = window.start + timedelta(days=rng.randint(0, (window.end - window.start).days))
                spans.append((first, min(window.end, first + timedelta(days=rng.randint(0, 13)))))
            for start, end in spans:
                assert window.covers(start, end)
                for unit in units:
                    expected = await duty.roster(session, unit, start, end)
                    assert _days(window.roster(unit, start, end)) == _days(expected), (unit, start, end)
                for member in people[:14]:
                    expected = await duty.shifts_of_member(session, member, start, end)
                    assert [_shift(s) for s in window.shifts_of_member(member, start, end)] == [
                        _shift(s) for s in expected
                    ], (member, start, end)
                expected_day = await duty.rosters_of_day(session, units, start)
                found_day = window.rosters_of_day(units, start)
                assert {u: _days([d]) for u, d in found_day.items()} == {
                    u: _days([d]) for u, d in expected_day.items()
                }, start
            assert not window.covers(window.start - timedelta(days=1), window.start)
            assert not window.covers(window.end, window.end + timedelta(days=1))


async def test_duty_questions_near_today_read_no_shifts_and_see_a_change(uncached: App) -> None:  # noqa: F811
    dispatcher = uncached.dispatcher
    for question in ("lịch trực tuần này", "/truc 15/03/2019"):  # the asker and the window are loaded
        await dispatcher.handle(message("7001", question), TELEGRAM)
    # ("khi nào tôi trực" reads the window too; this officer has no shift in it, so the next one after
    # it is looked for in the database.)
    for question in ("hôm nay ai trực chỉ huy?", "lịch trực tuần này", "/truc tuần sau", "ai trực ngày kia"):
        with statements(uncached) as seen:
            replies = await dispatcher.handle(message("7001", question), TELEGRAM)
        assert "Xin lỗi" not in replies[0].text
        assert not [s for s in seen if "duty_shifts" in s], f"{question}:\n" + "\n".join(seen)
    with statements(uncached) as seen:  # far from today: read from the database
        await dispatcher.handle(message("7001", "/truc 15/03/2019"), TELEGRAM)
    assert [s for s in seen if "duty_shifts" in s]

    before = (await dispatcher.handle(message("7001", "hôm nay ai trực chỉ huy?"), TELEGRAM))[0].text
    async with uncached.sessions() as session, session.begin():
        unit = await session.scalar(select(Unit.id).where(Unit.key == "U-KB"))
        shift = await session.scalar(
            select(DutyShift).where(
                DutyShift.unit_id == unit, DutyShift.duty_date == TODAY, DutyShift.role == "truc_chi_huy"
            )
        )
        newcomer = Member(full_name="Nguyễn Văn Mới", rank="Đại úy", unit_id=unit)
        session.add(newcomer)
        await session.flush()
        shift.member_id = newcomer.id
    after = (await dispatcher.handle(message("7001", "hôm nay ai trực chỉ huy?"), TELEGRAM))[0].text
    assert "Nguyễn Văn Mới" not in before and "Nguyễn Văn Mới" in after


async def test_the_window_moves_with_today(uncached: App, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """A question weeks later is answered from that day's window, not from the window of the day the
    first question was asked: the same answers as from the database alone."""
    await _more_shifts(uncached)
    questions = ["hôm nay ai trực", "lịch trực tuần này", "/truc tuần sau", "ai trực ngày kia"]
    days = [TODAY, TODAY + timedelta(days=9), TODAY + timedelta(days=30), TODAY - timedelta(days=20)]

    async def answers(app: App) -> list[str]:
        found = []
        for day in days:
            at = datetime.combine(day, time(10), app.settings.tz)
            for question in questions:
                found.append((await app.dispatcher.handle(message("7001", question, at=at), TELEGRAM))[0].text)
        return found

    from_windows = await answers(uncached)

    # One window is kept at a time, not one per week asked about.
    def holds_a_window(value: object) -> bool:
        return isinstance(value, duty.RosterWindow) or (
            isinstance(value, tuple) and any(isinstance(part, duty.RosterWindow) for part in value)
        )

    assert sum(map(holds_a_window, uncached.dispatcher.reference._kept.values())) == 1
    monkeypatch.setattr(duty, "window_around", lambda today: (today + timedelta(days=1), today))  # covers nothing
    database_only = App(uncached.settings)
    database_only.dispatcher.answers.size = 0
    try:
        assert from_windows == await answers(database_only)
    finally:
        await database_only.close()
    assert len(set(from_windows)) > len(questions)  # the days' answers differ


def test_span_tokens_are_what_strftime_made() -> None:
    """The roster's ◀/▶ buttons carry s:YYYYMMDD-YYYYMMDD, formatted without strftime for years 1000-9999."""
    from datetime import date, timedelta

    from bot.views.duty import _span_token

    for start in (date(1, 1, 1), date(999, 12, 28), date(1000, 1, 1), date(2022, 6, 20), date(9999, 12, 25)):
        end = min(start + timedelta(days=6), date.max)
        assert _span_token(start, end) == f"s:{start:%Y%m%d}-{end:%Y%m%d}"
