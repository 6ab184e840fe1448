"""The uncached path of a read-only question: once the asker is known at the current content version,
a question costs only the statements of its own data (no asker query, no transaction of its own), and
the answer is the same as on the full path. Membership changes are still seen at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import DBAPIError

from bot.app import App
from bot.db import InlineEngine, KeptEngine
from bot.messages import ChannelInfo, Incoming, Reply
from bot.models import ChatLink, Member, ReadinessPeriod, Unit
from bot.services.members import create_invite, join_with_invite
from tests.conftest import local

TELEGRAM = ChannelInfo(name="telegram", buttons=True)
NOW = local("2022-06-22 10:00")

# Statements a question costs once its asker is known, without the answer cache. Raise a figure
# only for a reason: each is a round trip on PostgreSQL.
STATEMENTS = {
    "cụm 2 gồm những đơn vị nào?": 0,
    # Tasks, planned events, drill plans and directives are kept per content version
    # (tests/test_kept_tables.py), so are the shifts of the weeks around today (RosterWindow,
    # tests/test_roster_window.py) and each cluster's results (ResultsBook, tests/test_results_book.py).
    "chỉ thị 87 là gì?": 0,
    "lịch trực tuần này": 0,
    "/truc tuần sau": 0,
    "/truc 15/03/2019": 1,  # that day's shifts, far from today (its meetings are kept)
    "mai ai truc": 0,
    "hôm nay ai trực chỉ huy?": 0,
    "hội nghị sơ kết 6 tháng ở đâu, khi nào?": 0,
    "lịch diễn tập xã Ba Sao": 0,
    "Bình Lục quý II được bao nhiêu điểm?": 0,  # a unit's card, with its trend chart, too
    "kết quả chấm điểm quý 2": 0,
    "nhiệm vụ 6 tháng cuối năm": 0,
}


async def officer(app: App, unit_key: str, user_id: str) -> None:
    async with app.sessions() as session, session.begin():
        unit = await session.scalar(select(Unit).where(Unit.key == unit_key))
        invite = await create_invite(session, unit=unit, created_by=None, now=NOW)
        await join_with_invite(
            session, code=invite.code, channel="telegram", chat_id=user_id, sender_name="Cán bộ", now=NOW
        )


def message(user_id: str, text: str, at: datetime = NOW) -> Incoming:
    return Incoming(
        channel="telegram",
        chat_id=user_id,
        chat_type="private",
        sender_id=user_id,
        sender_name="Cán bộ",
        received_at=at,
        text=text,
    )


@contextmanager
def statements(app: App) -> Iterator[list[str]]:
    """Every statement sent to the database meanwhile, on either engine."""
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(" ".join(statement.split()))

    engines = {app.engine.sync_engine, app.read_engine.sync_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)


def texts(replies: list[Reply]) -> list[tuple[str, list[list[tuple[str, str]]]]]:
    return [(r.text, [[(b.text, b.data) for b in row] for row in r.buttons]) for r in replies]


@pytest.fixture
async def uncached(demo_app: App) -> App:
    demo_app.dispatcher.answers.size = 0
    demo_app.versions.refresh = 3600  # the version is read once: these tests count statements
    await officer(demo_app, "U-KB", "7001")
    await officer(demo_app, "U-BL", "7002")
    return demo_app


async def test_a_known_askers_question_costs_only_its_own_statements(uncached: App) -> None:
    dispatcher = uncached.dispatcher
    for question in STATEMENTS:  # the asker and the reference data (units, cluster, people) are loaded
        await dispatcher.handle(message("7001", question), TELEGRAM)
    for question, expected in STATEMENTS.items():
        with statements(uncached) as seen:
            replies = await dispatcher.handle(message("7001", question), TELEGRAM)
        assert replies and "Xin lỗi" not in replies[0].text, question
        assert not [s for s in seen if "chat_links" in s], f"{question}: the asker was looked up again"
        assert len(seen) == expected, f"{question}: {len(seen)} statements\n" + "\n".join(seen)


async def test_the_read_path_answers_as_the_full_path_does(uncached: App, demo_app: App) -> None:
    """The same questions answered by a second app whose asker is never known (every question on the
    full path, one transaction, the asker looked up) and by the read path: the same replies."""
    full = App(uncached.settings)
    full.dispatcher.answers.size = 0
    try:
        await uncached.dispatcher.handle(message("7001", "/trogiup"), TELEGRAM)
        for question in [*STATEMENTS, "khi nào tôi trực", "Kim Bảng quý 2 xếp thứ mấy", "/ketqua"]:
            full.dispatcher._viewers.size = 0  # never remembers the asker
            expected = await full.dispatcher.handle(message("7001", question), TELEGRAM)
            assert texts(await uncached.dispatcher.handle(message("7001", question), TELEGRAM)) == texts(expected)
    finally:
        await full.close()


async def test_tôi_is_each_askers_own(uncached: App) -> None:
    dispatcher = uncached.dispatcher
    for user in ("7001", "7002"):
        await dispatcher.handle(message(user, "/trogiup"), TELEGRAM)
    kim_bang = texts(await dispatcher.handle(message("7001", "đơn vị tôi quý 2 được bao nhiêu điểm"), TELEGRAM))
    binh_luc = texts(await dispatcher.handle(message("7002", "đơn vị tôi quý 2 được bao nhiêu điểm"), TELEGRAM))
    assert "Kim Bảng" in kim_bang[0][0] and "Bình Lục" in binh_luc[0][0]


async def test_a_membership_change_is_seen_at_once(uncached: App) -> None:
    dispatcher = uncached.dispatcher
    uncached.versions.refresh = 3600  # only this process's own commits make it read the version again
    first = await dispatcher.handle(message("7001", "lịch trực tuần này"), TELEGRAM)
    assert "Kim Bảng" in first[0].text
    # Moved to Bình Lục: "lịch trực tuần này" is now Bình Lục's.
    async with uncached.sessions() as session, session.begin():
        link = await session.scalar(select(ChatLink).where(ChatLink.chat_id == "7001"))
        member = await session.get(Member, link.member_id)
        member.unit_id = link.unit_id = await session.scalar(select(Unit.id).where(Unit.key == "U-BL"))
    moved = await dispatcher.handle(message("7001", "lịch trực tuần này"), TELEGRAM)
    assert "Bình Lục" in moved[0].text
    # No longer a member: a guest's answer.
    async with uncached.sessions() as session, session.begin():
        link = await session.scalar(select(ChatLink).where(ChatLink.chat_id == "7001"))
        (await session.get(Member, link.member_id)).active = False
    gone = await dispatcher.handle(message("7001", "lịch trực tuần này"), TELEGRAM)
    assert "Bình Lục" not in gone[0].text and "Kim Bảng" not in gone[0].text


async def test_reference_data_changed_is_seen_at_once(uncached: App) -> None:
    """Readiness periods, review periods and criteria are kept per content version: a change anywhere
    drops them."""
    dispatcher = uncached.dispatcher
    for _ in range(2):
        assert "tăng cường" not in (await dispatcher.handle(message("7001", "/truc 23/06/2022"), TELEGRAM))[0].text
    async with uncached.sessions() as session, session.begin():
        session.add(
            ReadinessPeriod(key="RP-TEST", name="Kiểm tra", starts_on=date(2022, 6, 22), ends_on=date(2022, 6, 24))
        )
    reply = (await dispatcher.handle(message("7001", "/truc 23/06/2022"), TELEGRAM))[0].text
    assert "Đang trong đợt tăng cường trực Kiểm tra" in reply


async def test_the_read_engine_cannot_write(uncached: App) -> None:
    """Questions are answered on the read engine (on SQLite a synchronous session in the loop's
    thread, with ``query_only``): a write through it is refused, never applied."""
    if uncached.read_engine is uncached.engine:  # an in-memory database has one engine only
        pytest.skip("a single engine")
    async with uncached.dispatcher.read_sessions() as session:
        with pytest.raises(DBAPIError):
            await session.execute(text("UPDATE units SET name = 'x'"))
    async with uncached.sessions() as session:
        assert "x" not in set(await session.scalars(select(Unit.name)))


async def test_a_core_read_needs_no_orm_session_and_both_read_one_connection(uncached: App) -> None:
    """On SQLite a read session sends a Core select straight to its connection and makes an ORM
    session only for a statement that needs one, on that same connection (one snapshot a question)."""
    if not isinstance(uncached.read_engine, InlineEngine):
        pytest.skip("PostgreSQL reads, or an in-memory database, use AsyncSession")
    units = Unit.__table__.c
    async with uncached.dispatcher.read_sessions() as session:
        names = list(await session.scalars(select(units.name).order_by(units.id)))
        assert session._session is None
        connection = session.connection
        rows = list(await session.scalars(select(Unit).order_by(Unit.id)))
        assert [u.name for u in rows] == names
        assert session.sync_session.connection() is connection
        assert await session.scalar(select(units.name).where(units.id == rows[0].id)) == names[0]
    assert session._session is None and session._connection is None


async def test_a_kept_read_connection_sees_each_commit(uncached: App) -> None:
    """The read engine keeps its connections between questions (no pool checkout each time): they
    hold no snapshot, so what another connection commits in between is read by the next question."""
    if not isinstance(uncached.read_engine, InlineEngine | KeptEngine):
        pytest.skip("an in-memory database reads on the writers' engine")
    units = Unit.__table__.c
    first_name = select(units.name).order_by(units.id).limit(1)
    async with uncached.dispatcher.read_sessions() as session:
        before = await session.scalar(first_name)
        kept = session._connection
    async with uncached.sessions() as writer, writer.begin():
        unit = await writer.scalar(select(Unit).order_by(Unit.id).limit(1))
        unit.name = before + " (mới)"
    async with uncached.dispatcher.read_sessions() as session:
        assert await session.scalar(first_name) == before + " (mới)"
        assert session._connection is kept


async def test_kept_read_connections_killed_by_the_server_are_replaced(uncached: App) -> None:
    """On PostgreSQL the read engine keeps connections between questions: when the server ends them
    (a restart, an idle timeout), the next question is asked again on a fresh one, not refused."""
    if not isinstance(uncached.read_engine, KeptEngine):
        pytest.skip("PostgreSQL only")
    dispatcher = uncached.dispatcher
    question = "lịch trực tuần này"
    expected = texts(await dispatcher.handle(message("7001", question), TELEGRAM))
    async with uncached.read_engine.engine.connect() as other:  # a second kept connection, once returned
        sessions = [dispatcher.read_sessions(), dispatcher.read_sessions()]
        for session in sessions:
            await session.scalar(text("SELECT 1"))
        for session in sessions:
            await session.close()
        await other.scalar(text("SELECT 1"))
    async with uncached.sessions() as session, session.begin():
        ended = await session.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    assert ended >= 2
    assert texts(await dispatcher.handle(message("7001", question), TELEGRAM)) == expected


def test_the_dispatchers_copies_are_what_dataclasses_replace_makes() -> None:
    """Replies and the asker's Viewer are copied with handlers.router._shallow: equal to the original
    (as dataclasses.replace made them), a new object, changing it leaves the original as it was."""
    from dataclasses import replace

    from bot.messages import Button, Document, Reply
    from bot.services.members import Viewer
    from handlers.router import _shallow

    for original in (
        Reply("x", buttons=[[Button("a", "/b")]], notice="n", photo=Document("p.png", b"png", "c")),
        Viewer("officer", "telegram", "5", "Cường"),
    ):
        copied = _shallow(original)
        assert copied == replace(original) and copied is not original and type(copied) is type(original)
    viewer = Viewer("officer", "telegram", "5", "Cường")
    renamed = _shallow(viewer)
    renamed.sender_name = "Dũng"
    assert viewer.sender_name == "Cường"
