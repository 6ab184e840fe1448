"""Duty swaps (/doica) through the console: Thiếu tá Vũ Thành Long (trực ban Kim Bảng 24/6) and Đại úy
Đỗ Văn Nam (trực ban 25/6) on Wednesday 22/6/2022; the cluster's admin approves. Each person speaks
from their own console (``--as person:...``); ``tick`` delivers the notices in between."""

from __future__ import annotations

import contextlib

from sqlalchemy import select

from bot.app import App
from bot.channels.console import ConsoleChat, ConsolePushes, render
from bot.cli import fixed_clock
from bot.models import AuditEntry, ChatLink, DutyShift, DutySwap, Member, OutboxMessage, Unit
from bot.services.subscriptions import subscribe
from tests.chatting import ask, button, console
from tests.examples import NOW
from tests.test_telegram import ADMIN, Harness, tg  # noqa: F401  (the Telegram harness and its fixture)
from tests.test_zalo import ADMIN as ZALO_ADMIN
from tests.test_zalo import ZaloHarness, zalo  # noqa: F401  (the Zalo harness and its fixture)


async def tick(app: App, now: str = NOW) -> dict[str, list[str]]:
    """Planner and delivery once, as of ``now``: what each console chat was sent."""
    clock = fixed_clock(now, app.settings)
    report = await app.jobs({"console": ConsolePushes(None, clock=clock, tz=app.settings.tz)}, clock=clock).tick()
    sent: dict[str, list[str]] = {}
    for row in report.delivery.sent:
        sent.setdefault(row.chat_id, []).append(render(row.reply))
    return sent


async def person(app: App, name: str, now: str = NOW) -> ConsoleChat:
    return await console(app, f"person:{name}", now)


async def shifts_of(app: App, name: str) -> list[tuple[str, str]]:
    async with app.sessions() as session:
        rows = await session.execute(
            select(DutyShift.duty_date, DutyShift.role)
            .join(Member, Member.id == DutyShift.member_id)
            .where(Member.full_name == name, DutyShift.status == "planned")
            .order_by(DutyShift.duty_date)
        )
        return [(f"{d:%d/%m}", role) for d, role in rows.all()]


async def test_a_swap_asked_agreed_and_approved(demo_app: App) -> None:
    long = await person(demo_app, "Vũ Thành Long")
    nam = await person(demo_app, "Đỗ Văn Nam")
    admin = await console(demo_app, "admin")
    async with demo_app.sessions() as session, session.begin():
        unit = await session.scalar(select(Unit).where(Unit.key == "U-KB"))
        group = ChatLink(channel="console", chat_id="kb-group", chat_type="group", unit_id=unit.id, title="KB")
        session.add(group)
        await session.flush()
        await subscribe(session, group, ["duty"])
    await tick(demo_app)  # nothing of the swap yet; earlier reminders out of the way

    asked = await ask(long, "/doica 24/6 | Đỗ Văn Nam | 25/6")
    assert "Đã gửi yêu cầu đổi ca #1 tới Đại úy Đỗ Văn Nam" in asked, asked
    assert "Trực ban Thứ Sáu 24/06/2022 (từ 07h30): Thiếu tá Vũ Thành Long" in asked, asked
    assert "Hết hạn lúc 10h00 23/06/2022" in asked, asked

    sent = await tick(demo_app)
    assert "Đề nghị đổi ca trực" in "\n".join(sent[nam.chat_id]), sent
    assert long.chat_id not in sent and admin.chat_id not in sent

    waiting = await ask(nam, "/doica")
    assert "#1 (chờ người nhận đồng ý)" in waiting, waiting
    agreed = await ask(nam, button(waiting, "Đồng ý"))
    assert "Đã đồng ý yêu cầu đổi ca #1; đang chờ duyệt" in agreed, agreed
    assert await shifts_of(demo_app, "Đỗ Văn Nam") == [("21/06", "truc_ban"), ("25/06", "truc_ban")]  # not yet

    sent = await tick(demo_app)
    assert "Đại úy Đỗ Văn Nam đã đồng ý" in "\n".join(sent[long.chat_id]), sent
    assert "Duyệt đổi ca trực" in "\n".join(sent[admin.chat_id]), sent

    # Long cannot approve his own request; Nam cannot either.
    assert "không có quyền duyệt" in await ask(long, "/doica duyet 1")
    pending = await ask(admin, "/doica")
    done = await ask(admin, button(pending, "Duyệt"))
    assert "Đã duyệt yêu cầu đổi ca #1" in done, done
    assert "Trực ban Thứ Sáu 24/06/2022 (từ 07h30): Đại úy Đỗ Văn Nam" in done, done
    assert "Trực ban Thứ Bảy 25/06/2022 (từ 07h30): Thiếu tá Vũ Thành Long" in done, done
    assert await shifts_of(demo_app, "Đỗ Văn Nam") == [("21/06", "truc_ban"), ("24/06", "truc_ban")]
    assert await shifts_of(demo_app, "Vũ Thành Long") == [("20/06", "truc_ban"), ("25/06", "truc_ban")]

    sent = await tick(demo_app)
    for chat in (long.chat_id, nam.chat_id, admin.chat_id, "kb-group"):
        notices = [n for n in sent[chat] if "Thay đổi người trực" in n]
        assert len(notices) == 1, (chat, sent[chat])  # one notice, naming the new people
        assert "24/06/2022 (từ 07h30): Đại úy Đỗ Văn Nam" in notices[0], notices
    assert "đã xong (đã duyệt)" in await ask(admin, "/doica duyet 1")
    # The roster says so too, and every step is in the audit log.
    assert "Đỗ Văn Nam" in await ask(long, "ai trực ban ngày 24/6")
    async with demo_app.sessions() as session:
        actions = list(await session.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "swap")))
    assert actions == ["swap.asked", "swap.agreed", "swap.approved"]


async def test_the_new_person_gets_the_reminder_the_old_one_does_not(demo_app: App) -> None:
    long = await person(demo_app, "Vũ Thành Long")
    nam = await person(demo_app, "Đỗ Văn Nam")
    admin = await console(demo_app, "admin")
    await ask(long, "/doica 24/6 | Đỗ Văn Nam | 25/6")
    await ask(nam, "/doica dongy 1")
    await ask(admin, "/doica duyet 1")
    sent = await tick(demo_app, "2022-06-23 16:00")  # the day-before reminder of 24/6
    nam_text = "\n".join(sent.get(nam.chat_id, []))
    assert "24/06/2022" in nam_text and "Trực ban" in nam_text, sent
    assert not any("24/06/2022" in n and "Nhắc" in n for n in sent.get(long.chat_id, [])), sent


async def test_a_colleague_takes_a_shift_and_the_refusals(demo_app: App) -> None:
    long = await person(demo_app, "Vũ Thành Long")
    phuc = await person(demo_app, "Ngô Văn Phúc")
    # Nam holds 25/6: taking 24/6 too would be two 24-hour shifts back to back.
    back = await ask(long, "/doica 24/6 | Đỗ Văn Nam")
    assert "hai ca 24 giờ liền nhau" in back, back
    # Hoàng Văn Hải is trực chỉ huy on 24/6: two shifts at once.
    assert "hai ca cùng lúc" in await ask(long, "/doica 24/6 | Hoàng Văn Hải")
    # A shift in the past, a day without a shift, a person of another unit or unknown, oneself.
    assert "đã bắt đầu hoặc đã qua" in await ask(long, "/doica 20/6 | Ngô Văn Phúc")
    assert "không có ca trực nào" in await ask(long, "/doica 23/6 | Ngô Văn Phúc")
    async with demo_app.sessions() as session, session.begin():
        other = await session.scalar(select(Unit).where(Unit.key != "U-KB", Unit.kind == "district_command"))
        session.add(Member(full_name="Trần Văn Khác", unit_id=other.id))
    assert "không thuộc đơn vị" in await ask(long, "/doica 24/6 | Trần Văn Khác")
    assert "Không tìm thấy đồng chí" in await ask(long, "/doica 24/6 | Người Không Có")
    assert "chính mình" in await ask(long, "/doica 24/6 | Vũ Thành Long")
    async with demo_app.sessions() as session:
        assert await session.scalar(select(DutySwap.id)) is None  # nothing half-written

    taken = await ask(long, "/doica 24/6 | Ngô Văn Phúc")
    assert "nhờ Thượng úy Ngô Văn Phúc trực thay" in taken, taken
    assert "đang có yêu cầu đổi ca #" in await ask(long, "/doica 24/6 | Ngô Văn Phúc")
    assert "không gửi cho đồng chí" in await ask(await person(demo_app, "Đỗ Văn Nam"), "/doica dongy 1")
    refused = await ask(phuc, "/doica tuchoi 1")
    assert "Đã từ chối yêu cầu đổi ca #1" in refused, refused
    sent = await tick(demo_app)
    assert "đã từ chối" in "\n".join(sent[long.chat_id]), sent
    assert await shifts_of(demo_app, "Vũ Thành Long") == [("20/06", "truc_ban"), ("24/06", "truc_ban")]


async def test_an_offer_taken_by_anyone_of_the_unit(demo_app: App) -> None:
    long = await person(demo_app, "Vũ Thành Long")
    phuc = await person(demo_app, "Ngô Văn Phúc")
    quang = await person(demo_app, "Đinh Văn Quang")
    admin = await console(demo_app, "admin")
    offered = await ask(long, "ai nhận giúp ca 24/6")
    assert "Đã gửi yêu cầu đổi ca #1 tới các đồng chí trong đơn vị" in offered, offered
    sent = await tick(demo_app)
    assert "Nhờ nhận ca trực" in "\n".join(sent[phuc.chat_id]) and quang.chat_id in sent, sent
    # Quang holds 23/6: 24/6 would follow it at once.
    assert "hai ca 24 giờ liền nhau" in await ask(quang, "/doica nhan 1")
    listed = await ask(phuc, "/doica")
    assert "Nhận ca" in listed, listed
    taken = await ask(phuc, button(listed, "Nhận ca"))
    assert "Đã đồng ý yêu cầu đổi ca #1" in taken, taken
    await ask(admin, "/doica duyet 1")
    assert await shifts_of(demo_app, "Ngô Văn Phúc") == [
        ("22/06", "truc_ban"),
        ("24/06", "truc_ban"),
        ("26/06", "truc_ban"),
    ]
    assert "đã xong (đã duyệt)" in await ask(quang, "/doica nhan 1")


async def test_a_request_nobody_answers_expires(demo_app: App) -> None:
    long = await person(demo_app, "Vũ Thành Long")
    nam = await person(demo_app, "Đỗ Văn Nam", now="2022-06-23 10:30")
    await ask(long, "/doica 24/6 | Đỗ Văn Nam | 25/6")
    sent = await tick(demo_app, "2022-06-23 10:01")  # 24 hours after it was asked
    assert "đã hết hạn" in "\n".join(sent[long.chat_id]), sent
    assert "đã hết hạn" in await ask(nam, "/doica dongy 1")
    assert (await tick(demo_app, "2022-06-23 10:02")).get(long.chat_id) is None  # said once
    async with demo_app.sessions() as session:
        swap = await session.get(DutySwap, 1)
        assert swap.status == "expired"
        assert await session.scalar(select(OutboxMessage.id).where(OutboxMessage.notice == "swap_expired")) is not None


async def test_the_unit_commander_approves_when_the_unit_says_so(demo_app: App) -> None:
    async with demo_app.sessions() as session, session.begin():
        unit = await session.scalar(select(Unit).where(Unit.key == "U-KB"))
        unit.swap_approver = "commander"
    long = await person(demo_app, "Vũ Thành Long")
    nam = await person(demo_app, "Đỗ Văn Nam")
    commander = await person(demo_app, "Nguyễn Văn An")
    admin = await console(demo_app, "admin")
    await tick(demo_app)
    await ask(long, "/doica 24/6 | Đỗ Văn Nam | 25/6")
    await ask(nam, "/doica dongy 1")
    sent = await tick(demo_app)
    assert "Duyệt đổi ca trực" in "\n".join(sent[commander.chat_id]), sent
    assert admin.chat_id not in sent
    rejected = await ask(commander, "/doica khongduyet 1")
    assert "Không duyệt yêu cầu đổi ca #1" in rejected, rejected
    assert await shifts_of(demo_app, "Vũ Thành Long") == [("20/06", "truc_ban"), ("24/06", "truc_ban")]


async def test_an_admin_override_notice_names_the_new_person(demo_app: App) -> None:
    """/sua T.. người ...: those already reminded of the shift hear who holds it now (the bug was the
    old person under "Nay")."""
    long = await person(demo_app, "Vũ Thành Long")
    phuc = await person(demo_app, "Ngô Văn Phúc")
    reminded = await tick(demo_app, "2022-06-23 16:00")
    assert any("24/06/2022" in n for n in reminded[long.chat_id]), reminded
    async with demo_app.sessions() as session:
        shift = await session.scalar(select(DutyShift).where(DutyShift.key == "DS-KB-2022-06-24-truc_ban"))
    admin = await console(demo_app, "admin", "2022-06-23 17:00")
    await ask(admin, f"/sua T{shift.id} người Ngô Văn Phúc")
    assert "Đã sửa" in await ask(admin, "1")
    sent = await tick(demo_app, "2022-06-23 17:01")
    for chat in (long.chat_id, phuc.chat_id):
        notice = next(n for n in sent[chat] if "Thay đổi" in n)
        assert "Nay: Trực ban Kim Bảng Thứ Sáu 24/06/2022: Thượng úy Ngô Văn Phúc" in notice, notice
        assert "Trước: Trực ban Kim Bảng Thứ Sáu 24/06/2022: Thiếu tá Vũ Thành Long" in notice, notice


# --- Telegram: the same swap with buttons -------------------------------------------------------------

LONG, NAM = 301, 302


async def drained(fake: object, *chats: object) -> None:
    """Take the messages a tick pushed off the fake's queue, so that the next answer is the bot's reply."""
    for chat in chats:
        with contextlib.suppress(TimeoutError):
            while True:
                await fake.wait_for_message(chat, timeout=0.05)  # type: ignore[attr-defined]


async def test_a_swap_over_telegram_with_buttons(tg: Harness) -> None:  # noqa: F811 (the fixture)
    await tg.join(LONG, "Kim Bảng Vũ Thành Long")
    await tg.join(NAM, "Kim Bảng Đỗ Văn Nam")
    jobs = tg.app.jobs({"telegram": tg.channel}, clock=fixed_clock(NOW, tg.app.settings))
    await jobs.tick()
    await drained(tg.fake, LONG, NAM, ADMIN)
    asked = await tg.say("/doica 24/6 | Đỗ Văn Nam | 25/6", user=LONG)
    assert "Đã gửi yêu cầu đổi ca #1 tới Đại úy Đỗ Văn Nam" in asked, asked

    await jobs.tick()
    request = tg.fake.messages(NAM)[-1]
    assert "Đề nghị đổi ca trực" in request.text, request.text
    agreed = await tg.press(NAM, request.message_id, "Đồng ý", NAM)
    assert "Đã đồng ý yêu cầu đổi ca #1" in agreed["text"], agreed

    await jobs.tick()
    approval = tg.fake.messages(ADMIN)[-1]
    assert "Duyệt đổi ca trực" in approval.text, approval.text
    done = await tg.press(ADMIN, approval.message_id, "Duyệt", ADMIN)
    assert "Đã duyệt yêu cầu đổi ca #1" in done["text"], done

    await jobs.tick()
    for user in (LONG, NAM):
        notices = [m.text for m in tg.fake.messages(user) if "Thay đổi người trực" in m.text]
        assert len(notices) == 1 and "24/06/2022 (từ 07h30): Đại úy Đỗ Văn Nam" in notices[0], notices
    assert "Đỗ Văn Nam" in await tg.say("ai trực ban ngày 24/6", user=LONG)


# --- Zalo: the options are numbered, and "1" answers the request pushed to the chat ------------------

ZALO_LONG, ZALO_NAM = "z0long", "z0nam"


async def test_a_swap_over_zalo_with_numbered_options(zalo: ZaloHarness) -> None:  # noqa: F811 (the fixture)
    await zalo.join(ZALO_LONG, "Kim Bảng Vũ Thành Long")
    await zalo.join(ZALO_NAM, "Kim Bảng Đỗ Văn Nam")
    jobs = zalo.app.jobs({"zalo": zalo.channel}, clock=fixed_clock(NOW, zalo.app.settings))
    await jobs.tick()
    await drained(zalo.fake, ZALO_LONG, ZALO_NAM, ZALO_ADMIN)
    assert "Đã gửi yêu cầu đổi ca #1" in await zalo.say("/doica 24/6 | Đỗ Văn Nam | 25/6", chat=ZALO_LONG)
    await jobs.tick()
    await drained(zalo.fake, ZALO_NAM)
    request = zalo.fake.messages(ZALO_NAM)[-1].text
    assert "Đề nghị đổi ca trực" in request and "1. Đồng ý" in request, request
    assert "Đã đồng ý yêu cầu đổi ca #1" in await zalo.say("1", chat=ZALO_NAM)
    await jobs.tick()
    await drained(zalo.fake, ZALO_ADMIN)
    approval = zalo.fake.messages(ZALO_ADMIN)[-1].text
    assert "Duyệt đổi ca trực" in approval and "1. Duyệt" in approval, approval
    assert "Đã duyệt yêu cầu đổi ca #1" in await zalo.say("1", chat=ZALO_ADMIN)
    await jobs.tick()
    notice = zalo.fake.messages(ZALO_LONG)[-1].text
    assert "Thay đổi người trực" in notice and "24/06/2022 (từ 07h30): Đại úy Đỗ Văn Nam" in notice, notice


async def test_a_request_made_the_day_before_ends_when_the_shift_starts(demo_app: App) -> None:
    long = await person(demo_app, "Vũ Thành Long", now="2022-06-23 10:00")
    await person(demo_app, "Đỗ Văn Nam")
    asked = await ask(long, "/doica 24/6 | Đỗ Văn Nam | 25/6")
    assert "Hết hạn lúc 07h30 24/06/2022" in asked, asked  # the shift's start, before 24 hours are up
    assert "hết hạn" not in "\n".join((await tick(demo_app, "2022-06-24 07:29")).get(long.chat_id, []))
    assert "đã hết hạn" in "\n".join((await tick(demo_app, "2022-06-24 07:30"))[long.chat_id])
