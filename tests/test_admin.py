"""Admins run the cluster from the chat: add (one line and step by step), change, cancel, score,
publish, broadcast, members, audit, imports; every refusal and validation says what is wrong and
writes nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.channels.console import ConsoleChat, ConsolePushes
from bot.cli import fixed_clock
from bot.models import (
    AuditEntry,
    DialogState,
    DrillPlan,
    DutyShift,
    Event,
    Member,
    OutboxMessage,
    ReviewPeriod,
    ReviewResult,
    Score,
    Task,
    TaskAssignment,
    Unit,
)
from tests.chatting import ask, button, console
from tests.conftest import local
from tests.examples import NOW


async def chat(app: App, identity: str = "admin", now: str = NOW) -> ConsoleChat:
    """Most of these tests speak as the admin."""
    return await console(app, identity, now)


async def count(app: App, model: type, *where: object) -> int:
    async with app.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


# --- adding, one line ----------------------------------------------------------------------------


async def test_add_a_meeting_in_one_line(demo_app: App) -> None:
    admin = await chat(demo_app)
    answer = await ask(
        admin, "/themhop 14h00 28/6/2022 | Ban CHQS huyện Kim Bảng | Giao ban quý III | Kim Bảng, Bình Lục"
    )
    assert (
        "Đã thêm [S" in answer and "Giao ban quý III — 14h00 Thứ Ba 28/06/2022, tại Ban CHQS huyện Kim Bảng" in answer
    )
    async with demo_app.sessions() as session:
        event = await session.scalar(select(Event).where(Event.title == "Giao ban quý III"))
        units = await session.scalars(select(Unit.key).join(Event.units).where(Event.id == event.id))
        assert sorted(units) == ["U-BL", "U-KB"]
        assert (event.kind, event.cluster_wide, event.starts_at) == ("meeting", False, local("2022-06-28 14:00"))
    # The officers concerned see it, others do not.
    officer = await chat(demo_app, "officer:Bình Lục")
    assert "Giao ban quý III" in await ask(officer, "/lich")
    assert "Giao ban quý III" not in await ask(await chat(demo_app, "officer:Lý Nhân"), "/lich")


async def test_add_a_week_of_duty_with_names_people_use(demo_app: App) -> None:
    admin = await chat(demo_app)
    answer = await ask(admin, "/themtruc Kim Bảng | tuần 27/6 | trực ban | Long, Nam, Phúc, Quang, Long, Nam, Phúc")
    assert "Đã thêm 7 ca trực ban của Ban CHQS huyện Kim Bảng (27/06–03/07/2022)" in answer
    officer = await chat(demo_app, "officer:Kim Bảng")
    roster = await ask(officer, "/truc tuần sau")
    assert "Thứ Hai 27/06: Trực ban Thiếu tá Vũ Thành Long (trợ lý)" in roster
    assert "Thứ Tư 29/06: Trực ban Thượng úy Ngô Văn Phúc (trợ lý)" in roster
    assert "Chủ nhật 03/07: Trực ban Thượng úy Ngô Văn Phúc (trợ lý)" in roster


async def test_add_a_drill_a_task_a_news_item(demo_app: App) -> None:
    admin = await chat(demo_app)
    drill = await ask(admin, "/themdientap xã Thụy Lôi | 18/10/2022")
    assert "Đã thêm [D" in drill and "Diễn tập chiến đấu phòng thủ Xã Thụy Lôi" in drill
    shown = await ask(admin, "/dientap Thụy Lôi")
    assert "Kiểm tra, duyệt: Thứ Ba 18/10/2022" in shown
    assert "Thực hành (3 giai đoạn): Thứ Tư–Thứ Năm 19–20/10/2022" in shown
    assert "5/18 đơn vị" in await ask(admin, "/dientap Kim Bảng")
    task = await ask(admin, "/themnhiemvu Hoàn thành báo cáo sơ kết | 15/7/2022 | cả cụm")
    assert "Đã thêm nhiệm vụ FT7" in task and "hạn 15/07/2022; 7 đơn vị" in task
    assert "FT7. Hoàn thành báo cáo sơ kết — hạn 15/07/2022" in await ask(
        await chat(demo_app, "officer:Lý Nhân"), "/nhiemvu"
    )
    assert "Đã đăng tin" in await ask(admin, "/themtin Tin mới | tóm tắt | https://example.vn/a")


# --- adding, step by step --------------------------------------------------------------------------


async def test_a_guided_meeting_with_buttons_and_typing(demo_app: App) -> None:
    admin = await chat(demo_app)
    assert "Thời gian?" in await ask(admin, "/themhop")
    assert "Thiếu giờ" in await ask(admin, "30/6")  # asked again, with the reason
    assert "Địa điểm hoặc đơn vị chủ trì?" in await ask(admin, "chiều 30/6")
    assert "Nội dung?" in await ask(admin, "Hội trường Bộ CHQS tỉnh")
    assert "Thành phần" in await ask(admin, "Hội nghị triển khai diễn tập")
    summary = await ask(admin, "1")  # "Cả cụm"
    assert "Thời gian: 13h30 Thứ Năm 30/06/2022" in summary and "Địa điểm: Hội trường Bộ CHQS tỉnh" in summary
    assert await count(demo_app, Event, Event.title == "Hội nghị triển khai diễn tập") == 0
    saved = await ask(admin, "1")  # "Lưu"
    assert "Đã thêm [S" in saved
    async with demo_app.sessions() as session:
        event = await session.scalar(select(Event).where(Event.title == "Hội nghị triển khai diễn tập"))
    assert event.kind == "conference" and event.cluster_wide and event.session == "chieu"
    assert await count(demo_app, DialogState) == 0


async def test_a_one_line_command_with_its_first_parts_asks_the_rest(demo_app: App) -> None:
    """ "/sua S1" (only the code) or a meeting's first two parts keep what was given and go on step by
    step, instead of refusing the line."""
    admin = await chat(demo_app)
    assert "Sửa gì?" in await ask(admin, "/sua S1")
    assert "Giá trị mới?" in await ask(admin, "thời gian")
    preview = await ask(admin, "15h00 23/6/2022")
    assert "Thời gian sẽ đổi thành: 15h00 Thứ Năm 23/06/2022" in preview
    assert "Đã sửa S1." in await ask(admin, "1")

    assert "Nội dung?" in await ask(admin, "/themhop 14h00 28/6/2022 | Kim Bảng")
    assert "Thành phần" in await ask(admin, "Họp giao ban tháng 7")
    summary = await ask(admin, "1")  # "Cả cụm"
    assert "Địa điểm: Ban CHQS huyện Kim Bảng" in summary and "14h00 Thứ Ba 28/06/2022" in summary
    assert await count(demo_app, Event, Event.title == "Họp giao ban tháng 7") == 0
    assert "Đã thêm [S" in await ask(admin, "1")
    assert "nhiều nhất 4 phần" in await ask(admin, "/themhop 14h00 28/6/2022 | Kim Bảng | Họp | cả cụm | thừa")


async def test_cancel_at_any_step_writes_nothing(demo_app: App) -> None:
    admin = await chat(demo_app)
    await ask(admin, "/themnhiemvu")
    await ask(admin, "Rà soát quân số")
    assert "Đã hủy. Không có gì được lưu." in await ask(admin, "hủy")
    assert await count(demo_app, Task, Task.title == "Rà soát quân số") == 0
    assert await count(demo_app, DialogState) == 0


async def test_a_command_ends_a_dialog_and_a_stale_one_expires(demo_app: App) -> None:
    admin = await chat(demo_app)
    await ask(admin, "/themtruc")
    assert "Đã bỏ thao tác đang làm dở" in await ask(admin, "/donvi")
    await ask(admin, "/themtruc")
    later = await chat(demo_app, now="2022-06-22 11:00")
    assert "đã quá 30 phút nên đã hủy" in await ask(later, "Kim Bảng")


async def test_a_dialog_survives_a_restart(demo_db_url: str) -> None:
    from tests.conftest import make_settings

    first = App(make_settings(demo_db_url))
    admin = await chat(first)
    await ask(admin, "/themnhiemvu")
    await ask(admin, "Kiểm tra công tác hậu cần")
    await first.close()  # the process stops here
    second = App(make_settings(demo_db_url))
    try:
        admin = await chat(second)
        assert "Giao cho" in await ask(admin, "20/7/2022")
        assert "Hạn: Thứ Tư 20/07/2022" in await ask(admin, "Kim Bảng, Lý Nhân")
        assert "Đã thêm nhiệm vụ" in await ask(admin, "1")
    finally:
        await second.close()
    async with second.sessions() as session:
        task = await session.scalar(select(Task).where(Task.title == "Kiểm tra công tác hậu cần"))
    assert task is not None and len(task.assignments) == 2


# --- refusals and validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "/themhop 14h 28/6 | Kim Bảng | Họp | cả cụm",
        "/themtruc",
        "/sua S1 tên X",
        "/huy S1",
        "/chamdiem",
        "/congbo quý 2",
        "/thongbao Xin chào",
        "/capquyen M1",
        "/nhatky",
        "/nhap",
        "/thanhvien",
    ],
)
async def test_officers_and_guests_are_refused_admin_commands(demo_app: App, command: str) -> None:
    officer = await chat(demo_app, "officer:Kim Bảng")
    assert "chỉ dành cho cán bộ quản trị" in await ask(officer, command)
    guest = await chat(demo_app, "guest")
    assert "chưa là thành viên" in await ask(guest, command)
    assert await count(demo_app, AuditEntry) == 0


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/themhop 14h00 31/02/2022 | Kim Bảng | Họp | cả cụm", "31/02/2022 không có thật"),
        ("/themhop 14h00 20/6/2022 | Kim Bảng | Họp giao ban | cả cụm", "đã qua"),
        ("/themhop 17h00-14h00 28/6/2022 | Kim Bảng | Họp giao ban | cả cụm", "Giờ kết thúc phải sau giờ bắt đầu"),
        ("/themhop 14h00 28/6/2022 | Kim Bảng | Họp giao ban | Hà Giang", "Không tìm thấy đơn vị “Hà Giang”"),
        ("/themhop 14h00 28/6/2022 | Kim Bảng", "Nội dung? Ví dụ"),
        (
            "/themtruc Kim Bảng | 23/6/2022 | trực chỉ huy | Cường",
            "Đã có trực chỉ huy ngày 23/06/2022: Trung tá Phạm Minh",
        ),
        ("/themtruc Kim Bảng | 21/6/2022 | trực ban | Long", "đã qua"),
        ("/themtruc Kim Bảng | tuần 27/6 | trực ban | Long, Nam", "Có 7 ngày nhưng 2 tên"),
        ("/themtruc Kim Bảng | 28/6/2022 | trực nấu ăn | Long", "Vai trò trực là một trong"),
        ("/chamdiem Bình Lục | quý 3/2022 | G1=21", "Điểm G1 (Lãnh đạo, CTĐ-CTCT) là 21,0, vượt khung 0,0–20,0."),
        ("/chamdiem Bình Lục | quý 3/2022 | G9=1", "Không có tiêu chí G9"),
        ("/chamdiem Bình Lục | quý 3/2022 | TT=-6", "vượt khung -5,0–5,0"),
        ("/themnhiemvu Báo cáo | 1/6/2022 | cả cụm", "đã qua"),
        ("/themdientap xã Ba Sao | 23/8/2022", "đã có kế hoạch diễn tập năm 2022"),
        ("/themdientap xã Hư Không | 23/8/2022", "Không tìm thấy xã, phường, thị trấn"),
        ("/sua S999 tên X", "Không có mục S999"),
        ("/sua S1 màu sắc đỏ", "sửa được: thời gian, địa điểm, nội dung, thành phần"),
        ("/congbo quý 1/2022", "Chưa có điểm nào của quý I/2022"),
        ("/themhop " + "x" * 5000, "Tin nhắn quá dài"),
    ],
)
async def test_validation_says_what_is_wrong_and_writes_nothing(demo_app: App, command: str, expected: str) -> None:
    admin = await chat(demo_app)
    before = {m.__name__: await count(demo_app, m) for m in (Event, DutyShift, Score, Task, DrillPlan, AuditEntry)}
    answer = await ask(admin, command)
    assert expected in answer, answer
    after = {m.__name__: await count(demo_app, m) for m in (Event, DutyShift, Score, Task, DrillPlan, AuditEntry)}
    assert after == before


# --- changes, cancellations and who hears of them ------------------------------------------------------


async def test_an_edit_asks_for_confirmation_then_notifies(demo_app: App) -> None:
    officer = await chat(demo_app, "officer:Lý Nhân")
    assert officer.chat_id
    admin = await chat(demo_app)
    preview = await ask(admin, "/sua S1 thời gian 15h00 23/6/2022")
    assert "Thời gian sẽ đổi thành: 15h00 Thứ Năm 23/06/2022" in preview and "[1] Xác nhận" in preview
    async with demo_app.sessions() as session:
        assert (await session.get(Event, 1)).starts_at == local("2022-06-23 14:00")
    assert "Đã sửa S1." in await ask(admin, "1")
    async with demo_app.sessions() as session:
        event = await session.get(Event, 1)
        notices = list(await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "change")))
    assert event.starts_at == local("2022-06-23 15:00") and event.version == 2
    officer_notice = next(n for n in notices if n.chat_id == "officer:U-LN")
    assert "Thay đổi" in officer_notice.text and "15h00 Thứ Năm 23/06/2022" in officer_notice.text
    pushed = await demo_app.jobs({}, clock=fixed_clock("2022-06-22 10:01", demo_app.settings)).plan()
    assert pushed.written == 0  # nothing due yet; the 16h00 reminder will carry the new time


async def test_cancel_a_shift_and_the_person_hears(demo_app: App) -> None:
    admin = await chat(demo_app)
    answer = await ask(admin, "/moi Kim Bảng Phạm Minh Dũng")
    code = answer.split("/start ")[1].split()[0]
    dung = await chat(demo_app, "guest")
    await ask(dung, f"/start {code}")
    async with demo_app.sessions() as session:
        shift = await session.scalar(select(DutyShift).where(DutyShift.key == "DS-KB-2022-06-23-truc_chi_huy"))
    assert "Xác nhận hủy" in await ask(admin, f"/huy T{shift.id}")
    assert f"Đã hủy T{shift.id}" in await ask(admin, "1")
    async with demo_app.sessions() as session:
        notice = await session.scalar(select(OutboxMessage).where(OutboxMessage.chat_id == "guest"))
    assert notice is not None and notice.text.startswith("<b>Hủy</b>: Ca trực")
    officer = await chat(demo_app, "officer:Kim Bảng")
    assert "Không có trực chỉ huy trong lịch ngày này." in await ask(officer, "mai ai trực chỉ huy?")


async def test_changing_a_task_deadline_and_reporting_progress(demo_app: App) -> None:
    admin = await chat(demo_app)
    await ask(admin, "/sua FT5 hạn 10/10/2022")
    assert "Đã sửa FT5." in await ask(admin, "1")  # a task has one code: its own
    officer = await chat(demo_app, "officer:Kim Bảng")
    assert "FT5. Kiểm tra chéo quý III (26–30/9/2022) — hạn 10/10/2022" in await ask(officer, "/nhiemvu")
    reported = await ask(officer, "/baocao FT1 60% đã soạn xong văn kiện")
    assert "Kim Bảng: đang thực hiện (60%)" in reported and "Ghi chú: đã soạn xong văn kiện" in reported
    assert "Kim Bảng: hoàn thành" in await ask(officer, "/baocao FT2 xong")
    overview = await ask(admin, "/nhiemvu 6 tháng cuối năm")
    assert "– Kim Bảng: đang thực hiện (60%) — đã soạn xong văn kiện" in overview
    assert "– Kim Bảng: hoàn thành" in overview
    assert "Đơn vị không được giao nhiệm vụ FT1" in await ask(
        await chat(demo_app, "officer:TĐ 151"), "/baocao FT1 xong"
    )
    assert "Viết tiến độ như" in await ask(officer, "/baocao FT1 nhanh lắm")


# --- scores ------------------------------------------------------------------------------------------


async def test_scores_stay_private_until_published_and_ties_share_a_rank(demo_app: App) -> None:
    admin = await chat(demo_app)
    points = "G1=18 G2=27 G3=13 G4=13 G5=9 G6=9"
    for unit in ("Kim Bảng", "Thanh Liêm"):
        assert "tổng 89,0 điểm" in await ask(admin, f"/chamdiem {unit} | quý 3/2022 | {points}")
    assert "tổng 88,0" in await ask(admin, "/chamdiem Lý Nhân | quý 3/2022 | 18 27 13 13 9 9 -1")
    officer = await chat(demo_app, "officer:Kim Bảng")
    assert "Chưa có kết quả quý III/2022" in await ask(officer, "/xephang quý 3/2022")
    table = await ask(admin, "/xephang quý 3/2022")
    assert "chưa công bố" in table
    assert "1. Kim Bảng: 89,0 điểm — Tốt" in table and "1. Thanh Liêm: 89,0 điểm — Tốt" in table
    assert "3. Lý Nhân: 88,0 điểm — Tốt" in table
    assert "Công bố kết quả quý III/2022" in await ask(admin, "/congbo quý 3/2022")
    assert "Đã công bố kết quả quý III/2022" in await ask(admin, "1")
    shown = await ask(officer, "/ketqua quý 3/2022")
    assert "89,0 điểm, xếp thứ 1/3, loại Tốt" in shown
    async with demo_app.sessions() as session:
        period = await session.scalar(select(ReviewPeriod).where(ReviewPeriod.number == 3))
        ranks = sorted(await session.scalars(select(ReviewResult.rank).where(ReviewResult.period_id == period.id)))
        announced = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "announcements")
        )
    assert ranks == [1, 1, 3] and period.status == "published" and announced >= 1
    # A correction after publishing recomputes at once.
    await ask(admin, "/chamdiem Lý Nhân | quý 3/2022 | TT=+1")
    assert "90,0 điểm, xếp thứ 1/3, loại Xuất sắc" in await ask(
        await chat(demo_app, "officer:Lý Nhân"), "/ketqua quý 3"
    )


async def test_scores_in_a_guided_dialog(demo_app: App) -> None:
    admin = await chat(demo_app)
    await ask(admin, "/chamdiem")
    await ask(admin, "5")  # Bình Lục, the fifth unit button
    assert "Điểm từng tiêu chí" in await ask(admin, "quý 4")
    summary = await ask(admin, "17 25,5 12,5 12,5 8 8,5")
    assert "Đơn vị: Ban CHQS huyện Bình Lục" in summary and "G2=25,5" in summary
    assert "Đã ghi điểm Bình Lục — quý IV/2022: tổng 84,0 điểm" in await ask(admin, "1")
    async with demo_app.sessions() as session:
        values = sorted(await session.scalars(select(Score.points).join(ReviewPeriod).where(ReviewPeriod.number == 4)))
    assert values == [
        Decimal("8.00"),
        Decimal("8.50"),
        Decimal("12.50"),
        Decimal("12.50"),
        Decimal("17.00"),
        Decimal("25.50"),
    ]


# --- broadcast, members, audit -----------------------------------------------------------------------


async def test_announcement_previews_then_goes_through_the_outbox(demo_app: App) -> None:
    for unit in ("Kim Bảng", "Bình Lục"):
        await chat(demo_app, f"officer:{unit}")
    admin = await chat(demo_app)
    preview = await ask(admin, "/thongbao Kim Bảng | Nộp báo cáo trước 16h00")
    assert "Gửi tới Ban CHQS huyện Kim Bảng: 1 chat." in preview and "Thông báo: Nộp báo cáo trước 16h00" in preview
    assert await count(demo_app, OutboxMessage) == 0
    assert "Đã xếp hàng gửi 1 tin" in await ask(admin, "1")
    jobs = demo_app.jobs(
        {"console": ConsolePushes(None, tz=demo_app.settings.tz)}, clock=fixed_clock(NOW, demo_app.settings)
    )
    report = await jobs.delivery.deliver_due()
    assert [r.chat_id for r in report.sent] == ["officer:U-KB"]
    assert "Gửi tới cả cụm: 3 chat." in await ask(admin, "/thongbao Họp giao ban 8h mai")
    assert "Đã hủy" in await ask(admin, "2")


async def test_members_roles_and_the_audit_log(demo_app: App) -> None:
    await chat(demo_app, "officer:Kim Bảng")
    admin = await chat(demo_app)
    members = await ask(admin, "/thanhvien")
    officer_line = next(line for line in members.splitlines() if "Người dùng console (Kim Bảng)" in line)
    code = officer_line.split()[0]
    assert "cán bộ" in officer_line
    admin_line = next(line for line in members.splitlines() if "Quản trị (console)" in line)
    assert "— cấp cụm — quản trị" in admin_line  # an admin of the cluster has no unit: said, not "—"
    assert "thành quản trị" in await ask(admin, f"/capquyen {code}")
    async with demo_app.sessions() as session:
        member = await session.get(Member, int(code[1:]))
    assert member.role == "admin"
    promoted = await chat(demo_app, "officer:Kim Bảng")
    assert "Đã đăng tin" in await ask(promoted, "/themtin Tin từ Kim Bảng")
    assert "thành cán bộ" in await ask(admin, f"/thuhoi {code}")
    assert "chỉ dành cho cán bộ quản trị" in await ask(promoted, "/themtin Tin nữa")
    log = await ask(admin, "/nhatky 3")
    lines = [line for line in log.splitlines() if line.startswith("•")]
    name = "Người dùng console (Kim Bảng)"
    assert lines[0] == f"• 10h00 22/06/2022 — Quản trị (console) đổi vai trò của {name} ({code}): quản trị → cán bộ."
    assert lines[1] == f"• 10h00 22/06/2022 — {name} đăng tin “Tin từ Kim Bảng”."
    assert lines[2].endswith(f"đổi vai trò của {name} ({code}): cán bộ → quản trị.")


async def test_every_change_is_audited_with_before_and_after(demo_app: App) -> None:
    admin = await chat(demo_app)
    await ask(admin, "/sua S1 địa điểm Hội trường Bộ CHQS tỉnh")
    await ask(admin, "1")
    async with demo_app.sessions() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "event.change"))
    assert "tại Ban CHQS huyện Kim Bảng" in entry.before["text"]
    assert "tại Hội trường Bộ CHQS tỉnh" in entry.after["text"]
    assert entry.actor_label.startswith("Quản trị (console)") and entry.at == local(NOW)


async def test_duty_day_after_the_shift_moves(demo_app: App) -> None:
    admin = await chat(demo_app)
    async with demo_app.sessions() as session:
        shift = await session.scalar(select(DutyShift).where(DutyShift.key == "DS-KB-2022-06-24-truc_chien"))
    await ask(admin, f"/sua T{shift.id} ngày 27/6/2022")
    assert "Đã sửa" in await ask(admin, "1")
    async with demo_app.sessions() as session:
        moved = await session.get(DutyShift, shift.id)
    assert moved.duty_date.isoformat() == "2022-06-27" and moved.starts_at == local("2022-06-27 07:30")
    await ask(admin, f"/sua T{shift.id} ngày 25/6/2022")
    assert "Ngày 25/06/2022 đã có trực chiến: Tổ 2" in await ask(admin, "1")


async def test_another_person_on_duty_reads_as_the_new_person(demo_app: App) -> None:
    admin = await chat(demo_app)
    async with demo_app.sessions() as session:
        shift = await session.scalar(select(DutyShift).where(DutyShift.key == "DS-KB-2022-06-25-truc_chi_huy"))
    await ask(admin, f"/sua T{shift.id} người Hải")
    done = await ask(admin, "1")
    assert "Trước: Trực chỉ huy Kim Bảng Thứ Bảy 25/06/2022: Trung tá Lê Quang Cường" in done, done
    assert "Nay: Trực chỉ huy Kim Bảng Thứ Bảy 25/06/2022: Trung tá Hoàng Văn Hải" in done, done


async def test_assignments_for_a_new_task_reach_units(demo_app: App) -> None:
    officer = await chat(demo_app, "officer:Lý Nhân")
    assert officer
    admin = await chat(demo_app)
    await ask(admin, "/themnhiemvu Kiểm tra kho | 30/6/2022 | Lý Nhân")
    async with demo_app.sessions() as session:
        notice = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "new"))
        assignments = await session.scalar(
            select(func.count()).select_from(TaskAssignment).join(Task).where(Task.title == "Kiểm tra kho")
        )
    assert notice.chat_id == "officer:U-LN" and "Nhiệm vụ mới" in notice.text and assignments == 1
    assert timedelta(0) == notice.send_at - notice.due_at  # urgent: quiet hours do not hold it


@pytest.mark.parametrize(
    ("command", "answers", "expected"),
    [
        (
            "/themtruc",
            ["1", "28/6/2022", "Trực chỉ huy", "Cường", "1"],
            "Đã thêm 1 ca trực chỉ huy của Ban CHQS huyện Kim Bảng",
        ),
        ("/themdientap", ["xã Thụy Lôi", "18/10/2022", "Bỏ qua", "1"], "Diễn tập chiến đấu phòng thủ Xã Thụy Lôi"),
        ("/themtin", ["Tin có ảnh", "Bỏ qua", "https://example.vn/x", "1"], "Đã đăng tin: Tin có ảnh"),
        ("/thongbao", ["Cả cụm", "Nộp báo cáo trước 16h", "1"], "Đã xếp hàng gửi"),
        ("/sua", ["S1", "Nội dung", "Sơ kết 6 tháng (đã sửa)", "1"], "Đã sửa S1."),
        ("/huy", ["N1", "1"], "Đã hủy FT1"),  # N1 is an alias of FT1
        ("/congbo", ["quý 2/2022"], "đã công bố từ trước"),
    ],
)
async def test_every_form_step_by_step(demo_app: App, command: str, answers: list[str], expected: str) -> None:
    await chat(demo_app, "officer:Kim Bảng")  # someone to announce to
    admin = await chat(demo_app)
    reply = await ask(admin, command)
    for answer in answers:
        buttons = {
            line.split("] ", 1)[1].strip(): line.split("]")[0].strip("[")
            for part in reply.splitlines()
            for line in part.split("  ")
            if line.startswith("[")
        }
        reply = await ask(admin, buttons.get(answer, answer))  # press the button of that label, or type it
    assert expected in reply, reply
    assert await count(demo_app, DialogState) == 0 or "đã công bố" in reply


async def test_period_buttons_switch_between_published_periods(demo_app: App) -> None:
    admin = await chat(demo_app)
    await ask(admin, "/chamdiem Kim Bảng | quý 3/2022 | 18 27 13 13 9 9")
    await ask(admin, "/congbo quý 3/2022")
    await ask(admin, "1")
    officer = await chat(demo_app, "officer:Kim Bảng", now="2022-10-05 09:00")
    latest = await ask(officer, "/xephang")
    assert "quý III/2022" in latest.splitlines()[0] and "[" in latest and "quý II/2022" in latest
    assert "7. Bình Lục: 84,0 điểm — Tốt" in await ask(officer, button(latest, "quý II/2022"))
