"""The item use cases (bot/services/items.py, bot/services/editable.py) called directly, without a chat."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import errors
from bot.app import App
from bot.models import AuditEntry, ChatLink, Cluster, Event, OutboxMessage, Task, Unit
from bot.services import broadcasts, editable, items
from bot.services import errors as refusals
from bot.services.editable import EditClock
from bot.services.members import Viewer
from bot.services.reminders import plan_reminders
from bot.services.subscriptions import subscribe, unsubscribe
from bot.views.errors import phrase
from bot.vntime import PeriodSpec
from tests.conftest import local

ADMIN = Viewer("admin", "console", "1", "Quản trị thử")
OFFICER = Viewer("officer", "console", "2", "Cán bộ thử")


async def _unit(session: AsyncSession, key: str) -> Unit:
    unit = await session.scalar(select(Unit).where(Unit.key == key))
    assert unit is not None
    return unit


async def _group(session: AsyncSession, unit: Unit, chat_id: str = "-100900") -> ChatLink:
    group = ChatLink(channel="telegram", chat_id=chat_id, chat_type="group", unit_id=unit.id, title=unit.short_name)
    session.add(group)
    await session.flush()
    await subscribe(session, group, ["conference", "duty", "task", "drill", "announcements"])
    return group


async def _count(session: AsyncSession, model: type, *where: object) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _meeting(unit: Unit, starts_at: datetime) -> items.MeetingDraft:
    return items.MeetingDraft(
        title="Giao ban cụm tháng 6",
        starts_at=starts_at,
        ends_at=None,
        session_name=None,
        location="Hội trường Ban CHQS huyện Kim Bảng",
        host_unit_id=unit.id,
        unit_ids=(unit.id,),
    )


def _clock(app: App, now: datetime) -> EditClock:
    return EditClock(now, app.settings.tz, app.settings.duty_handover)


async def test_an_admin_adds_a_meeting_audited_and_told(demo_app: App) -> None:
    now = local("2022-06-22 10:00")
    async with demo_app.sessions() as session, session.begin():
        kb = await _unit(session, "U-KB")
        group = await _group(session, kb)
        added = await items.add_meeting(
            session, ADMIN, _meeting(kb, local("2022-06-23 15:00")), cluster_id=None, now=now, tz=demo_app.settings.tz
        )
        event_id, group_id = added.event.id, group.id
    assert added.told >= 1
    async with demo_app.sessions() as session:
        event = await session.get(Event, event_id)
        assert event is not None and event.title == "Giao ban cụm tháng 6" and event.kind == "meeting"
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "event.create"))
        assert entry is not None and entry.entity_id == event_id and entry.actor_label.startswith("Quản trị thử")
        notices = list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.entity_type == "event", OutboxMessage.entity_id == event_id)
            )
        )
        assert [n.chat_link_id for n in notices if n.kind == "new"].count(group_id) == 1
        assert "Giao ban cụm tháng 6" in next(n.text for n in notices if n.chat_link_id == group_id)


async def test_a_non_admin_is_refused_and_nothing_is_written(demo_app: App) -> None:
    now = local("2022-06-22 10:00")
    async with demo_app.sessions() as session:
        kb = await _unit(session, "U-KB")
        before = [await _count(session, m) for m in (Event, AuditEntry, OutboxMessage, Task)]
        kb_id = kb.id
    async with demo_app.sessions() as session:
        kb = Unit(id=kb_id, name="Ban CHQS huyện Kim Bảng", short_name="Kim Bảng")  # detached: only its id is used
        with pytest.raises(errors.NotAllowed) as caught:
            async with session.begin():
                await items.add_meeting(
                    session,
                    OFFICER,
                    _meeting(kb, local("2022-06-23 15:00")),
                    cluster_id=None,
                    now=now,
                    tz=demo_app.settings.tz,
                )
        assert caught.value.role == "officer" and caught.value.action == "event.create"
        assert phrase(caught.value) == "Chỉ quản trị mới làm được việc này."
        with pytest.raises(errors.NotAllowed):
            async with session.begin():
                await items.add_task(
                    session,
                    OFFICER,
                    items.TaskDraft("Báo cáo sơ kết", local("2022-07-15 00:00").date(), (kb.id,)),
                    cluster_id=None,
                    cluster_unit_ids=[],
                    now=now,
                    today=now.date(),
                )
        with pytest.raises(errors.NotAllowed):
            async with session.begin():
                await editable.cancel_item(session, OFFICER, "S1", clock=_clock(demo_app, now))
    async with demo_app.sessions() as session:
        assert [await _count(session, m) for m in (Event, AuditEntry, OutboxMessage, Task)] == before


async def test_a_change_bumps_the_version_and_tells_those_already_reminded(demo_app: App) -> None:
    tz = demo_app.settings.tz
    async with demo_app.sessions() as session, session.begin():
        kb = await _unit(session, "U-KB")
        group = await _group(session, kb)
        added = await items.add_meeting(
            session,
            ADMIN,
            _meeting(kb, local("2022-06-23 15:00")),
            cluster_id=None,
            now=local("2022-06-22 10:00"),
            tz=tz,
        )
        code, group_id = f"S{added.event.id}", group.id
    async with demo_app.sessions() as session, session.begin():
        await plan_reminders(session, demo_app.settings, local("2022-06-22 16:00"))  # "tomorrow" reminder
        reminders = list(
            await session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.entity_id == added.event.id,
                    OutboxMessage.entity_type == "event",
                    OutboxMessage.kind == "conference",
                )
            )
        )
        assert [r.chat_link_id for r in reminders] == [group_id]
        reminders[0].status = "sent"
        # No longer a conference subscriber: told of the change only because it was reminded.
        await unsubscribe(session, await session.get(ChatLink, group_id), ["conference"])
    async with demo_app.sessions() as session, session.begin():
        found = await editable.find_by_code(session, code)
        assert found.kind.name == "event" and found.version == 1
        change = await editable.change_item(
            session,
            ADMIN,
            code,
            "place",
            editable.NewPlace("Hội trường Bộ CHQS tỉnh", None),
            expected_version=1,
            clock=_clock(demo_app, local("2022-06-22 16:05")),
        )
    assert change.before.location == "Hội trường Ban CHQS huyện Kim Bảng"
    assert change.after.location == "Hội trường Bộ CHQS tỉnh"
    async with demo_app.sessions() as session:
        event = await session.get(Event, added.event.id)
        assert event is not None and event.version == 2 and event.location == "Hội trường Bộ CHQS tỉnh"
        told = list(
            await session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.entity_id == event.id,
                    OutboxMessage.entity_type == "event",
                    OutboxMessage.kind == "change",
                )
            )
        )
        assert [t.chat_link_id for t in told] == [group_id] and "Hội trường Bộ CHQS tỉnh" in told[0].text
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "event.change"))
        assert (
            entry is not None and "Hội trường Bộ CHQS tỉnh" in entry.after["text"] and entry.after["field"] == "place"
        )
    # Someone who saw version 1 is refused now.
    async with demo_app.sessions() as session:
        with pytest.raises(errors.StaleItem) as caught:
            async with session.begin():
                await editable.change_item(
                    session,
                    ADMIN,
                    code,
                    "title",
                    "Giao ban",
                    expected_version=1,
                    clock=_clock(demo_app, local("2022-06-22 16:06")),
                )
        assert (caught.value.code, caught.value.actual) == (code, 2)


async def test_cancel_and_what_cannot_be_changed(demo_app: App) -> None:
    now = local("2022-06-22 10:00")
    async with demo_app.sessions() as session, session.begin():
        kb = await _unit(session, "U-KB")
        group = await _group(session, kb)
        added = await items.add_task(
            session,
            ADMIN,
            items.TaskDraft("Hoàn thành báo cáo sơ kết", local("2022-07-15 00:00").date(), (kb.id,)),
            cluster_id=None,
            cluster_unit_ids=[],
            now=now,
            today=now.date(),
        )
        code, group_id = f"N{added.task.id}", group.id
        assert added.unit_names == ["Kim Bảng"] and added.told == 1
        with pytest.raises(errors.FieldNotEditable) as caught:
            await editable.change_item(
                session, ADMIN, code, "place", "x", expected_version=None, clock=_clock(demo_app, now)
            )
        assert caught.value.editable == ("due", "title")
        with pytest.raises(errors.DueDatePassed):
            await editable.change_item(
                session,
                ADMIN,
                code,
                "due",
                now.date() - timedelta(days=1),
                expected_version=None,
                clock=_clock(demo_app, now),
            )
        cancelled = await editable.cancel_item(session, ADMIN, code, clock=_clock(demo_app, now))
        # Asked by its number (an alias), answered with the task's one code.
        assert (
            cancelled.code == added.task.code
            and cancelled.told == 1
            and cancelled.facts.title == "Hoàn thành báo cáo sơ kết"
        )
    async with demo_app.sessions() as session:
        task = await session.get(Task, added.task.id)
        assert task is not None and task.status == "cancelled" and task.version == 2
        notice = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.entity_id == task.id, OutboxMessage.kind == "change")
        )
        assert notice is not None and notice.chat_link_id == group_id and notice.text.startswith("<b>Hủy</b>")
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "task.cancel"))
        assert entry is not None and entry.after == {"status": "cancelled"}
        with pytest.raises(errors.ItemCancelled):
            await editable.find_by_code(session, code)
        with pytest.raises(errors.ItemNotFound):
            await editable.find_by_code(session, "S99999")


@pytest.mark.parametrize(
    ("points", "error", "facts"),
    [
        ({"G1": "mười"}, errors.InvalidScore, {"criterion": "G1", "reason": "not_a_number"}),
        ({"G1": "999"}, errors.InvalidScore, {"criterion": "G1", "reason": "out_of_range"}),
        ({"G2": "18", "X9": "1"}, errors.UnknownCriterion, {"code": "X9"}),
    ],
)
async def test_scores_are_checked_against_the_rubric(demo_app: App, points, error, facts) -> None:
    now = local("2022-10-05 10:00")
    async with demo_app.sessions() as session:
        kb = await _unit(session, "U-KB")
        cluster_id, kb_id = await _cluster_id(session), kb.id
        before = await _count(session, AuditEntry)
        await session.rollback()
        with pytest.raises(error) as caught:
            async with session.begin():
                await items.record_scores(
                    session,
                    ADMIN,
                    items.ScoreSheet(kb_id, PeriodSpec(2022, "quarter", 3), points),
                    cluster_id=cluster_id,
                    now=now,
                )
        for name, value in facts.items():
            assert getattr(caught.value, name) == value
        assert facts.get("criterion", facts.get("code")) in phrase(caught.value)
        assert await _count(session, AuditEntry) == before


async def _cluster_id(session: AsyncSession) -> int:
    cluster_id = await session.scalar(select(Cluster.id).order_by(Cluster.year.desc()).limit(1))
    assert cluster_id is not None
    return int(cluster_id)


async def test_scores_recorded_and_audited(demo_app: App) -> None:
    now = local("2022-10-05 10:00")
    async with demo_app.sessions() as session, session.begin():
        kb = await _unit(session, "U-KB")
        recorded = await items.record_scores(
            session,
            ADMIN,
            items.ScoreSheet(kb.id, PeriodSpec(2022, "quarter", 3), {"G1": "18,5", "TT": Decimal("1")}),
            cluster_id=await _cluster_id(session),
            now=now,
        )
        assert recorded.changes["G1"][1] == Decimal("18.5") and recorded.row is not None
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "scores.enter"))
        assert entry is not None and entry.after["G1"] == "18.5"
    async with demo_app.sessions() as session:
        with pytest.raises(errors.NoCluster):
            await items.record_scores(
                session, ADMIN, items.ScoreSheet(kb.id, PeriodSpec(2022, "quarter", 3), {}), cluster_id=None, now=now
            )


async def test_announce_needs_recipients_and_is_audited(demo_app: App) -> None:
    now = local("2022-06-22 10:00")
    async with demo_app.sessions() as session, session.begin():
        kb = await _unit(session, "U-KB")
        with pytest.raises(refusals.NoRecipients):
            await broadcasts.send_announcement(session, ADMIN, "unit", kb.id, "Họp giao ban", now)
        await _group(session, kb)
        queued = (await broadcasts.send_announcement(session, ADMIN, "unit", kb.id, "Họp giao ban", now)).queued
        assert queued == 1
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "announcement.send"))
        assert entry is not None and entry.after["chats"] == 1
