"""The content version and the answer cache: repeated questions are cheap, and no change is missed."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select, update

from bot.app import App
from bot.models import ContentVersion, DutyShift, Member, OutboxMessage, ReviewPeriod, Score, Unit
from bot.services.results import compute_results
from tests.chatting import ask, console
from tests.conftest import make_settings


async def version(app: App) -> int:
    async with app.sessions() as session:
        return await session.scalar(select(ContentVersion.version))


async def test_a_repeated_question_is_answered_from_the_cache(demo_app: App) -> None:
    chat = await console(demo_app)
    first = await ask(chat, "mai ai trực?")
    hits = demo_app.dispatcher.answers.hits
    assert await ask(chat, "mai ai trực?") == first
    assert demo_app.dispatcher.answers.hits == hits + 1


async def test_orm_changes_bump_the_version_and_empty_the_cache(demo_app: App) -> None:
    chat = await console(demo_app)
    assert "Phạm Minh Dũng" in await ask(chat, "mai ai trực?")
    before = await version(demo_app)
    async with demo_app.sessions() as session, session.begin():
        dung = await session.scalar(select(Member).where(Member.key == "P-KB-DUNG"))
        dung.full_name = "Phạm Minh Dũng Mới"
    assert await version(demo_app) == before + 1
    assert "Phạm Minh Dũng Mới" in await ask(chat, "mai ai trực?")


async def test_statements_bump_the_version_too(demo_app: App) -> None:
    before = await version(demo_app)
    async with demo_app.sessions() as session, session.begin():
        unit = await session.scalar(select(Unit).where(Unit.key == "U-BL"))
        await session.execute(update(Score).where(Score.unit_id == unit.id).values(points=Decimal(14)))
    assert await version(demo_app) == before + 1
    chat = await console(demo_app)
    async with demo_app.sessions() as session, session.begin():
        await compute_results(session, await session.scalar(select(ReviewPeriod)))
    assert "98,0 điểm, xếp thứ 1/7" in await ask(chat, "/ketqua Bình Lục quý 2")


async def test_delivery_bookkeeping_is_not_content(demo_app: App) -> None:
    before = await version(demo_app)
    now = datetime.now(UTC)
    async with demo_app.sessions() as session, session.begin():
        session.add(
            OutboxMessage(
                dedupe_key="x",
                slot="x",
                kind="test",
                channel="console",
                chat_id="c",
                text="t",
                due_at=now,
                send_at=now,
                next_attempt_at=now,
            )
        )
    assert await version(demo_app) == before


async def test_a_change_on_another_replica_is_seen(demo_db_url: str) -> None:
    replica_a, replica_b = App(make_settings(demo_db_url)), App(make_settings(demo_db_url))
    replica_a.versions.refresh = 0  # read the version on every question
    try:
        chat = await console(replica_a)
        assert "Phạm Minh Dũng (Phó CHT)" in await ask(chat, "mai ai trực?")
        async with replica_b.sessions() as session, session.begin():
            shift = await session.scalar(select(DutyShift).where(DutyShift.key == "DS-KB-2022-06-23-truc_chien"))
            shift.person_label = "Tổ 3"
        assert "Trực chiến: Tổ 3" in await ask(chat, "mai ai trực?")
    finally:
        await replica_a.close()
        await replica_b.close()


async def test_a_rolled_back_change_does_not_bump(demo_app: App) -> None:
    before = await version(demo_app)
    async with demo_app.sessions() as session:
        dung = await session.scalar(select(Member).where(Member.key == "P-KB-DUNG"))
        dung.full_name = "X"
        await session.flush()
        await session.rollback()
    assert await version(demo_app) == before
