"""The people, groups, feeds, subscriptions, reports and imports use cases, called directly: no chat,
no handler, any channel name. Zalo joins and groups land in the same model as Telegram ones; refusals
write nothing; every admin change leaves exactly one audit entry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import time, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.models import AuditEntry, ChatLink, DutyShift, Invite, Member, NewsSource, OutboxMessage, Subscription, Unit
from bot.services import broadcasts, chat_settings, feeds, groups, imports, people, reports, tasks
from bot.services.errors import (
    AdminOnly,
    InviteRefused,
    NotAGroup,
    RowsRejected,
    SelfDemotion,
    UnknownUnitRow,
)
from bot.services.members import Viewer, find_chat, resolve_viewer
from bot.services.subscriptions import KINDS, load_audience
from bot.services.units import UnitRef, load_directory
from tests.conftest import TZ, local
from tests.examples import NOW

WHEN = local(NOW)
ROSTER = [["Ngày", "Trực ban"], ["27/06/2022", "Nguyễn Văn An"], ["28/06/2022", "Trần Văn Bình"]]


async def count(session: AsyncSession, model: type, *where: Any) -> int:
    return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def unit_ref(session: AsyncSession, key: str = "U-KB") -> UnitRef:
    unit = await session.scalar(select(Unit).where(Unit.key == key))
    assert unit is not None
    return UnitRef.of(unit)


async def admin(session: AsyncSession) -> Viewer:
    """A bootstrap admin with a member row, as the dispatcher would make one."""
    member = Member(full_name="Quản trị thử", role="admin")
    session.add(member)
    await session.flush()
    return Viewer("admin", "console", "admin-1", "Quản trị thử", member)


def guest(channel: str, sender_id: str, name: str = "Nguyễn Văn Khách") -> Viewer:
    return Viewer("guest", channel, sender_id, name)


async def officer(session: AsyncSession, app: App, channel: str = "telegram", chat_id: str = "501") -> Viewer:
    """An officer of Kim Bảng who joined with an invite on ``channel``."""
    boss = await admin(session)
    unit = await unit_ref(session)
    invite = await people.create_invite(session, boss, unit.id, "officer", 1, timedelta(days=7), None, WHEN)
    joined = await people.join_with_invite(session, guest(channel, chat_id), invite.code, chat_id=chat_id, now=WHEN)
    return Viewer("officer", channel, chat_id, joined.member.full_name, joined.member, unit, joined.chat)


# --- joining on any channel -----------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["telegram", "zalo"])
async def test_joining_links_the_chat_the_same_way_on_every_channel(demo_app: App, channel: str) -> None:
    async with demo_app.sessions() as session, session.begin():
        boss = await admin(session)
        unit = await unit_ref(session)
        invite = await people.create_invite(session, boss, unit.id, "officer", 1, timedelta(days=7), None, WHEN)
        joined = await people.join_with_invite(
            session, guest(channel, "chat-77", "Lê Văn Mới"), invite.code, chat_id="chat-77", now=WHEN
        )
        assert (joined.role, joined.unit.id, joined.member.full_name) == ("officer", unit.id, "Lê Văn Mới")
        link = await find_chat(session, channel, "chat-77")
        assert link is not None and link.id == joined.chat.id
        assert (link.chat_type, link.member_id, link.unit_id, link.active) == (
            "private",
            joined.member.id,
            unit.id,
            True,
        )
        kinds = set(await session.scalars(select(Subscription.kind).where(Subscription.chat_link_id == link.id)))
        assert kinds == set(KINDS)
        # The dispatcher now sees an officer of Kim Bảng, whatever the channel.
        viewer = await resolve_viewer(
            session,
            channel=channel,
            chat_id="chat-77",
            sender_id="chat-77",
            sender_name="Lê Văn Mới",
            config_admin=False,
            directory=await load_directory(session),
        )
        assert (viewer.role, viewer.member and viewer.member.id, viewer.unit and viewer.unit.id) == (
            "officer",
            joined.member.id,
            unit.id,
        )
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "member.join"))
        assert entry is not None and entry.actor_member_id == joined.member.id
        assert entry.actor_label == f"Lê Văn Mới ({channel}:chat-77)"
        # The invite is used up, on every channel.
        with pytest.raises(InviteRefused) as refused:
            await people.join_with_invite(session, guest("zalo", "other"), invite.code, chat_id="other", now=WHEN)
        assert refused.value.reason == "used_up"


async def test_one_member_holds_chat_links_on_two_channels(demo_app: App) -> None:
    async with demo_app.sessions() as session, session.begin():
        boss = await admin(session)
        unit = await unit_ref(session)
        person = await session.scalar(select(Member).where(Member.unit_id == unit.id).order_by(Member.id).limit(1))
        assert person is not None
        members_before = await count(session, Member)
        first = await people.create_invite(session, boss, unit.id, "officer", 1, timedelta(days=7), person.id, WHEN)
        on_telegram = await people.join_with_invite(
            session, guest("telegram", "9001"), first.code, chat_id="9001", now=WHEN
        )
        second = await people.create_invite(session, boss, unit.id, "officer", 1, timedelta(days=7), person.id, WHEN)
        on_zalo = await people.join_with_invite(session, guest("zalo", "zl-42"), second.code, chat_id="zl-42", now=WHEN)
        assert on_telegram.member.id == on_zalo.member.id == person.id
        assert await count(session, Member) == members_before
        links = list(await session.scalars(select(ChatLink).where(ChatLink.member_id == person.id)))
        assert sorted((link.channel, link.chat_id) for link in links) == [("telegram", "9001"), ("zalo", "zl-42")]
        # Personal reminders reach both chats.
        audience = await load_audience(session)
        assert {c.channel for c in audience.for_member("duty", person.id)} == {"telegram", "zalo"}


# --- groups, feeds, subscriptions -----------------------------------------------------------------------


async def test_a_zalo_group_is_linked_like_a_telegram_one(demo_app: App) -> None:
    async with demo_app.sessions() as session, session.begin():
        boss = await admin(session)
        unit = await unit_ref(session)
        linked = await groups.link_group(session, boss, "zalo", "zgroup-1", "Nhóm KB trên Zalo", unit.id, WHEN)
        assert (linked.chat.channel, linked.chat.chat_type, linked.chat.unit_id, linked.chat.title) == (
            "zalo",
            "group",
            unit.id,
            "Nhóm KB trên Zalo",
        )
        assert set(linked.subscribed) == set(KINDS)
        audience = await load_audience(session)
        assert linked.chat.id in {c.id for c in audience.for_units("duty", [unit.id], groups_only=True)}
        # Linking again (to another unit) moves it and subscribes nothing twice.
        other = await unit_ref(session, "U-BL")
        again = await groups.link_group(session, boss, "zalo", "zgroup-1", None, other.id, WHEN)
        assert (again.chat.id, again.chat.unit_id, again.chat.title, again.subscribed) == (
            linked.chat.id,
            other.id,
            "Nhóm KB trên Zalo",
            [],
        )
        # A person's private chat is not a group.
        member = await officer(session, demo_app, "zalo", "zl-private")
        with pytest.raises(NotAGroup):
            await groups.link_group(session, boss, "zalo", member.chat_link.chat_id, None, unit.id, WHEN)


async def test_subscriptions_and_quiet_hours_of_ones_own_chat(demo_app: App) -> None:
    async with demo_app.sessions() as session, session.begin():
        me = await officer(session, demo_app, "zalo", "zl-5")
        settings = await chat_settings.unsubscribe(session, me, ["news", "digest_weekly"], WHEN)
        assert settings.kinds == set(KINDS) - {"news", "digest_weekly"}
        settings = await chat_settings.subscribe(session, me, ["news"], WHEN)
        assert "news" in settings.kinds
        settings = await chat_settings.set_quiet_hours(session, me, time(22), time(6), WHEN)
        assert settings.quiet == (time(22), time(6))
        settings = await chat_settings.set_quiet_hours(session, me, None, None, WHEN)
        assert settings.quiet == (None, None)
        # A group's settings are for admins.
        boss = await admin(session)
        group = (await groups.link_group(session, boss, "zalo", "zg", None, me.unit.id, WHEN)).chat
        in_group = Viewer("officer", "zalo", me.sender_id, me.sender_name, me.member, me.unit, group)
        with pytest.raises(AdminOnly):
            await chat_settings.unsubscribe(session, in_group, ["news"], WHEN)


# --- reports ---------------------------------------------------------------------------------------------


async def test_a_unit_done_with_a_task_gets_no_more_deadline_reminders(demo_app: App) -> None:
    async with demo_app.sessions() as session, session.begin():
        me = await officer(session, demo_app)
        task = await tasks.find_task(session, "FT1")
        assert task is not None
        report = await reports.report_task_progress(session, me, task.id, "in_progress", 60, "Đã tập huấn", WHEN)
        assert (report.assignment.status, report.assignment.progress, report.assignment.report) == (
            "in_progress",
            60,
            "Đã tập huấn",
        )
        session.add(
            OutboxMessage(
                dedupe_key="t",
                slot="t",
                kind="task",
                chat_link_id=me.chat_link.id,
                channel="telegram",
                chat_id=me.chat_link.chat_id,
                text="Sắp đến hạn",
                entity_type="task",
                entity_id=task.id,
                due_at=WHEN + timedelta(days=1),
                send_at=WHEN + timedelta(days=1),
                next_attempt_at=WHEN + timedelta(days=1),
                status="pending",
            )
        )
        await session.flush()
        await reports.report_task_progress(session, me, task.id, "done", 100, None, WHEN)
        assert (
            await count(session, OutboxMessage, OutboxMessage.dedupe_key == "t", OutboxMessage.status == "pending") == 0
        )
        # An officer reports for their own unit only.
        other = await unit_ref(session, "U-BL")
        with pytest.raises(AdminOnly):
            await reports.report_task_progress(session, me, task.id, "done", 100, None, WHEN, unit_id=other.id)
        assert await count(session, AuditEntry, AuditEntry.action == "task.report") == 2


# --- refusals write nothing ------------------------------------------------------------------------------


async def _refused(app: App, attempt: Callable[[AsyncSession, Viewer, UnitRef], Awaitable[object]]) -> None:
    """``attempt`` by an officer raises AdminOnly, and the database is as before."""
    async with app.sessions() as session, session.begin():
        me = await officer(session, app)
    models = (AuditEntry, Invite, ChatLink, Member, NewsSource, DutyShift, OutboxMessage)
    async with app.sessions() as session:
        before = [await count(session, model) for model in models]
    async with app.sessions() as session:
        with pytest.raises(AdminOnly):
            async with session.begin():
                member = await session.get(Member, me.member.id)
                chat = await find_chat(session, me.channel, me.sender_id)
                acting = Viewer(me.role, me.channel, me.sender_id, me.sender_name, member, me.unit, chat)
                await attempt(session, acting, me.unit)
    async with app.sessions() as session:
        assert [await count(session, model) for model in models] == before


@pytest.mark.parametrize(
    "action",
    ["invite", "grant", "revoke", "link", "feed", "roster", "announce", "members", "audit"],
)
async def test_a_non_admin_is_refused_and_nothing_is_written(demo_app: App, action: str) -> None:
    attempts: dict[str, Callable[[AsyncSession, Viewer, UnitRef], Awaitable[object]]] = {
        "invite": lambda s, me, unit: people.create_invite(s, me, unit.id, "admin", 1, timedelta(days=1), None, WHEN),
        "grant": lambda s, me, unit: people.grant_admin(s, me, me.member.id, WHEN),
        "revoke": lambda s, me, unit: people.revoke_admin(s, me, me.member.id, WHEN),
        "link": lambda s, me, unit: groups.link_group(s, me, "zalo", "zg-x", "Nhóm", unit.id, WHEN),
        "feed": lambda s, me, unit: feeds.add_feed(s, me, "https://example.org/rss", WHEN),
        "roster": lambda s, me, unit: imports.import_duty_roster(
            s,
            me,
            ROSTER,
            directory=None,  # type: ignore[arg-type]
            default_unit_id=unit.id,
            replace=False,
            filename="truc.csv",
            handover=time(7, 30),
            now=WHEN,
            tz=TZ,
        ),
        "announce": lambda s, me, unit: broadcasts.send_announcement(s, me, "cluster", None, "Họp", WHEN),
        "members": lambda s, me, unit: people.bot_users(s, me),
        "audit": lambda s, me, unit: people.audit_log(s, me),
    }
    await _refused(demo_app, attempts[action])


async def test_an_import_with_errors_writes_nothing(demo_app: App) -> None:
    async with demo_app.sessions() as session:
        before = (await count(session, DutyShift), await count(session, AuditEntry))
        directory = await load_directory(session)
        unit = await unit_ref(session)
    async with demo_app.sessions() as session:
        with pytest.raises(RowsRejected) as rejected:
            async with session.begin():
                boss = await admin(session)
                table = [
                    ["Ngày", "Đơn vị", "Trực ban"],
                    ["27/06/2022", "Kim Bảng", "Nguyễn Văn An"],
                    ["28/06/2022", "Huyện Không Có", "Trần Văn Bình"],
                ]
                await imports.import_duty_roster(
                    session,
                    boss,
                    table,
                    directory=directory,
                    default_unit_id=None,
                    replace=False,
                    filename="truc.csv",
                    handover=time(7, 30),
                    now=WHEN,
                    tz=TZ,
                )
        assert rejected.value.problems == [UnknownUnitRow(3, "Huyện Không Có")]
        with pytest.raises(RowsRejected) as unreadable:
            async with session.begin():
                boss = await admin(session)
                await imports.import_duty_roster(
                    session,
                    boss,
                    [*ROSTER, ["31/02/2022", "Lê Văn Cường"]],
                    directory=directory,
                    default_unit_id=unit.id,
                    replace=False,
                    filename="truc.csv",
                    handover=time(7, 30),
                    now=WHEN,
                    tz=TZ,
                )
        assert [e.row for e in unreadable.value.unreadable] == [4]
    async with demo_app.sessions() as session:
        assert (await count(session, DutyShift), await count(session, AuditEntry)) == before


# --- every admin change: one audit entry -----------------------------------------------------------------

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Tin</title></channel></rss>'


async def test_every_admin_change_leaves_one_audit_entry(demo_app: App) -> None:
    async with demo_app.sessions() as session, session.begin():
        boss = await admin(session)
        unit = await unit_ref(session)
        directory = await load_directory(session)
        me = await officer(session, demo_app, "zalo", "zl-audit")

        async def one_entry(action: str, change: Awaitable[object]) -> object:
            entries = await count(session, AuditEntry)
            result = await change
            assert await count(session, AuditEntry) == entries + 1, action
            latest = await session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
            assert latest is not None and (latest.action, latest.actor_member_id) == (action, boss.member.id)
            return result

        await one_entry(
            "invite.create",
            people.create_invite(session, boss, unit.id, "officer", 3, timedelta(days=2), None, WHEN),
        )
        change = await one_entry("member.role", people.grant_admin(session, boss, me.member.id, WHEN))
        assert change.changed and me.member.role == "admin"  # type: ignore[attr-defined]
        await one_entry("member.role", people.revoke_admin(session, boss, me.member.id, WHEN))
        await one_entry("group.link", groups.link_group(session, boss, "zalo", "zg-audit", "Nhóm", unit.id, WHEN))
        feed = httpx.MockTransport(lambda _request: httpx.Response(200, content=FEED))
        async with httpx.AsyncClient(transport=feed) as client:
            added = feeds.add_feed(session, boss, "https://example.org/rss.xml", WHEN, client=client)
            await one_entry("news.source", added)
        done = await one_entry(
            "duty.import",
            imports.import_duty_roster(
                session,
                boss,
                ROSTER,
                directory=directory,
                default_unit_id=unit.id,
                replace=False,
                filename="truc.csv",
                handover=time(7, 30),
                now=WHEN,
                tz=TZ,
            ),
        )
        assert done.created == 2  # type: ignore[attr-defined]
        sent = await one_entry(
            "announcement.send",
            broadcasts.send_announcement(session, boss, "unit", unit.id, "Họp giao ban", WHEN),
        )
        assert sent.queued >= 1  # type: ignore[attr-defined]
        # Nothing to change: nothing recorded.
        entries = await count(session, AuditEntry)
        assert not (await people.revoke_admin(session, boss, me.member.id, WHEN)).changed
        assert await count(session, AuditEntry) == entries
        with pytest.raises(SelfDemotion):
            await people.revoke_admin(session, boss, boss.member.id, WHEN)


def test_every_refusal_has_a_vietnamese_text() -> None:
    """No refusal reaches a user as its developer text."""
    from decimal import Decimal

    from bot.imports import RowError
    from bot.services import errors
    from bot.views.refusals import refusal_text

    samples = [
        errors.AdminOnly("group.link"),
        errors.AdminOnly("settings.quiet"),
        errors.AdminOnly("task.report"),
        errors.SelfDemotion(1),
        *(errors.InviteRefused("abc", reason) for reason in ("unknown", "revoked", "expired", "used_up")),
        errors.InvalidInvite("role", "guest"),
        errors.InvalidInvite("max_uses", 900),
        errors.MemberNotFound("M9"),
        errors.AmbiguousMember("Nam", 2),
        errors.UnitNotFound(9),
        errors.PersonNotInUnit(1, 2),
        errors.NotAGroup("zalo", "1"),
        errors.InvalidFeed("ftp://x"),
        *(errors.FeedUnreachable("http://x", reason) for reason in ("timeout", "network", "not_a_feed")),
        errors.FeedUnreachable("http://x", "status", 404),
        errors.TaskNotFound(3),
        errors.NoUnitToReport(),
        errors.NotAssigned("FT1", 2),
        errors.InvalidProgress("done", 50),
        errors.NoRecipients("unit", 2),
        errors.ChatNotJoined(),
        errors.UnknownKinds(["x"]),
        errors.InvalidQuietHours(),
        errors.RowsRejected(
            [errors.OutOfRangeRow(3, "G1", Decimal("25"), Decimal("0"), Decimal("20"))],
            [RowError(2, "Dòng 2: thiếu ngày. Viết ngày dạng dd/mm/yyyy.", "Ngày")],
        ),
        errors.UnitUnknownForRoster(),
    ]
    covered = {type(s) for s in samples}
    defined = {
        c
        for c in vars(errors).values()
        if isinstance(c, type) and issubclass(c, errors.Refused) and c not in (errors.Refused, errors.ImportRejected)
    }
    assert defined <= covered
    for sample in samples:
        assert refusal_text(sample) != str(sample), sample
    report = refusal_text(samples[-2])
    assert "• Dòng 2, cột Ngày: thiếu ngày. → Viết ngày dạng dd/mm/yyyy" in report
    assert "• Dòng 3, cột G1 “25,0”: ngoài khung 0,0–20,0." in report
    assert refusal_text(errors.ChatNotJoined(), group_chat=True).startswith("Nhóm này chưa liên kết")
