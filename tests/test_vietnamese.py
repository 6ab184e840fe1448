"""Issue 12 item 6, "Vietnamese everywhere a user reads": what an officer or an admin is shown names
people, items and settings as they know them, never an internal key, an English error or a code
that does not exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import App
from bot.config import ConfigError, load_settings
from tests.chatting import ask, console, qtbot_env, qtbot_start_failure


async def _join(app: App, invite_for: str = "/moi Kim Bảng Vũ Thành Long") -> tuple[str, object]:
    admin = await console(app, "admin")
    code = (await ask(admin, invite_for)).split("/start ")[1].split()[0]
    guest = await console(app, "guest")
    return await ask(guest, f"/start {code}"), guest


async def test_the_help_after_joining_lists_the_officers_commands(demo_app: App) -> None:
    answer, _guest = await _join(demo_app)
    assert "Chào đồng chí Vũ Thành Long!" in answer
    assert "/truc (/duty)" in answer and "/baocao (/report)" in answer and "/caidat (/settings)" in answer, answer
    assert "/chamdiem" not in answer  # an officer's menu, not an admin's


async def test_the_member_list_hints_with_codes_that_exist(demo_app: App) -> None:
    await _join(demo_app)
    admin = await console(demo_app, "admin")
    members = await ask(admin, "/thanhvien")
    codes = {line.split()[0] for line in members.splitlines()[1:] if line.startswith("M")}
    hint = members.splitlines()[-1]
    assert "/capquyen M" in hint and "Vũ Thành Long" in hint, members
    granted = hint.split("/capquyen ")[1].split()[0]
    assert granted in codes
    refused = await ask(admin, "/capquyen M999")
    assert "Không tìm thấy người dùng bot “M999”" in refused and "M12" not in refused


async def test_the_settings_of_a_private_chat_name_its_owner(demo_app: App) -> None:
    _answer, officer = await _join(demo_app)
    assert "Cài đặt nhận tin — đồng chí Vũ Thành Long" in await ask(officer, "/caidat")  # type: ignore[arg-type]
    admin = await console(demo_app, "admin")
    assert "Cài đặt nhận tin — đồng chí Quản trị (console)" in await ask(admin, "/caidat")


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"QTBOT_LOG_LEVEL": "LOUD"},
            "Cấu hình sai: QTBOT_LOG_LEVEL: mức ghi log “LOUD” không có; dùng một trong DEBUG, INFO, WARNING, "
            "ERROR, CRITICAL",
        ),
        (
            {"QTBOT_DELIVERY_BATCH_SIZE": "abc"},
            "Cấu hình sai: QTBOT_DELIVERY_BATCH_SIZE: phải là một số nguyên (đang là “abc”)",
        ),
        ({"QTBOT_GRACE_MINUTES": "0"}, "Cấu hình sai: QTBOT_GRACE_MINUTES: phải từ 1 trở lên (đang là “0”)"),
        (
            {"QTBOT_TELEGRAM_RATE_PER_SECOND": "-1"},
            "Cấu hình sai: QTBOT_TELEGRAM_RATE_PER_SECOND: phải lớn hơn 0 (đang là “-1”)",
        ),
        (
            {"QTBOT_DUTY_HANDOVER": "7h"},
            "Cấu hình sai: QTBOT_DUTY_HANDOVER: phải là giờ dạng HH:MM, ví dụ 07:30 (đang là “7h”)",
        ),
    ],
)
def test_every_settings_error_is_one_vietnamese_line(monkeypatch: pytest.MonkeyPatch, env: dict, line: str) -> None:
    monkeypatch.chdir("/")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert str(error.value) == line
    assert "Input should" not in str(error.value)


def test_several_wrong_settings_are_one_line_each(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/")
    monkeypatch.setenv("QTBOT_ZALO_POLL_TIMEOUT", "x")
    monkeypatch.setenv("QTBOT_GRACE_MINUTES", "0")
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert sorted(str(error.value).splitlines()) == [
        "Cấu hình sai: QTBOT_GRACE_MINUTES: phải từ 1 trở lên (đang là “0”)",
        "Cấu hình sai: QTBOT_ZALO_POLL_TIMEOUT: phải là một số nguyên (đang là “x”)",
    ]


# --- /nhatky --------------------------------------------------------------------------------------------


async def test_the_audit_log_reads_as_sentences_without_internal_keys(demo_app: App) -> None:
    _answer, officer = await _join(demo_app)
    admin = await console(demo_app, "admin")
    for line in (
        "/thongbao Kim Bảng | Nộp báo cáo trước 16h",
        "1",
        "/themtruc Kim Bảng | 28/6/2022 | trực ban | Long",
        "/chamdiem Phủ Lý | quý 3/2022 | 18 27 13 13 9 9",
        "/chamdiem Phủ Lý | quý 3/2022 | G1=19",
        "/sua S1 thời gian 15h00 23/6/2022",
        "1",
        "/themnhiemvu Hoàn thành báo cáo sơ kết | 15/7/2022 | cả cụm",
    ):
        await ask(admin, line)
    await ask(officer, "/baocao FT1 60% đã soạn xong văn kiện")  # type: ignore[arg-type]
    await ask(officer, "/caidat yên lặng 22h-6h")  # type: ignore[arg-type]
    log = await ask(admin, "/nhatky 20")
    lines = [line for line in log.splitlines() if line.startswith("•")]
    assert len(lines) >= 10
    for line in lines:
        assert line.startswith("• 10h00 22/06/2022 — ") and line.endswith("."), line
        for internal in ("#", "=", "{", "_id", "truc_", "member.", "scope", "None", "console:", "role"):
            assert internal not in line, (internal, line)
    text = "\n".join(lines)
    assert "Quản trị (console) gửi thông báo tới Kim Bảng (1 chat): “Nộp báo cáo trước 16h”." in text
    assert "Quản trị (console) thêm 1 ca trực ban của Ban CHQS huyện Kim Bảng (28/06/2022)." in text
    assert "Quản trị (console) chấm điểm Phủ Lý quý III/2022: G1 18,0 → 19,0." in text
    assert "Vũ Thành Long báo cáo nhiệm vụ FT1 của Kim Bảng: đang thực hiện (10%) → đang thực hiện (60%)" in text
    assert "Vũ Thành Long đặt giờ yên lặng 22h00–06h00." in text
    assert "Vũ Thành Long tham gia bot với vai trò cán bộ của Ban CHQS huyện Kim Bảng." in text
    assert "sửa thời gian lịch [S1]: Hội nghị Sơ kết" in text and "→ Hội nghị Sơ kết" in text
    assert "giao nhiệm vụ FT7 “Hoàn thành báo cáo sơ kết”, hạn 15/07/2022" in text


def test_every_audited_action_has_a_sentence() -> None:
    """Each action kind a use case records (read from the source) is rendered by bot/views/audit.py."""
    import re
    from pathlib import Path

    from bot.views.audit import RENDERERS

    root = Path(__file__).resolve().parents[1] / "bot" / "services"
    recorded = set()
    for path in root.glob("*.py"):
        for call in re.findall(r"audit\.record\(\s*session,\s*actor,\s*(f?\"[^\"]+\")", path.read_text()):
            if call.startswith('f"{kind.name}'):
                recorded.update(f"{kind}{call.split('}', 1)[1][:-1]}" for kind in ("event", "shift", "task", "drill"))
            else:
                recorded.add(call.strip('"'))
    assert len(recorded) > 20
    assert recorded <= set(RENDERERS), recorded - set(RENDERERS)


# --- item codes ------------------------------------------------------------------------------------------


async def test_admins_see_the_codes_sua_and_huy_take_officers_do_not(demo_app: App) -> None:
    admin = await console(demo_app, "admin")
    officer = await console(demo_app)
    schedule = await ask(admin, "/lich")
    assert "• [S1] Chiều Thứ Năm 23/06/2022 (14h00): Sơ kết" in schedule, schedule
    roster = await ask(admin, "/truc Kim Bảng")
    assert "Trực chỉ huy Trung tá Lê Quang Cường (Phó CHT–TMT) [T7]" in roster, roster
    day = await ask(admin, "/truc Kim Bảng 23/6/2022")
    assert "Trực chỉ huy: Trung tá Phạm Minh Dũng (Phó CHT) [T10]" in day, day
    drill = await ask(admin, "/dientap Ba Sao")
    assert "(Ban CHQS huyện Kim Bảng, năm 2022) [D2]" in drill and "• [S10] Kiểm tra, duyệt" in drill, drill
    assert "• FT5. Kiểm tra chéo quý III" in await ask(admin, "/nhiemvu")
    # The codes shown are the ones /sua and /huy take.
    assert "Mục T10:" in await ask(admin, "/sua T10 người Cường")
    assert "Đã hủy. Không có gì được lưu." in await ask(admin, "Hủy")
    assert "Mục S10:" in await ask(admin, "/sua S10 thời gian 8h00 23/8/2022")
    await ask(admin, "Hủy")
    # Officers read the same lists without codes (and the answer cache keeps the two apart).
    assert "[S1]" not in await ask(officer, "/lich")
    assert "[T" not in await ask(officer, "/truc")
    assert "[D2]" not in await ask(officer, "/dientap Ba Sao")


async def test_a_task_has_one_code_everywhere(demo_app: App) -> None:
    admin = await console(demo_app, "admin")
    added = await ask(admin, "/themnhiemvu Hoàn thành báo cáo sơ kết | 15/7/2022 | cả cụm")
    assert "Đã thêm nhiệm vụ FT7: Hoàn thành báo cáo sơ kết" in added and "/huy FT7" in added
    assert "[N" not in added
    cancel = await ask(admin, "/huy FT3")
    assert cancel.splitlines()[1].startswith("Hủy FT3: Nhiệm vụ Tăng cường sự lãnh đạo của Đảng"), cancel
    assert "Đã hủy FT3" in await ask(admin, "1")
    # The internal number still works, as an alias: the answer names the task by its code.
    assert "Mục FT5:" in await ask(admin, "/sua N5 hạn 10/10/2022")


# --- a warning before an edit into the past or out of its plan's order ---------------------------------------


async def test_moving_a_drill_milestone_out_of_order_warns_before_saving(demo_app: App) -> None:
    admin = await console(demo_app, "admin")
    # TT Ba Sao: kiểm tra, duyệt S10 23/08, thực hành S11 24–25/08, rút kinh nghiệm S12 25/08 (all in 08/2022).
    before = await ask(admin, "/sua S11 thời gian 8h00 22/8/2022")
    assert "⚠️ Mốc này sẽ đứng trước mốc liền trước của kế hoạch: Kiểm tra, duyệt (Thứ Ba 23/08/2022)." in before
    assert "Vẫn lưu thì bấm Xác nhận." in before and "[1] Xác nhận" in before
    await ask(admin, "Hủy")
    later = await ask(admin, "/sua S10 thời gian 8h00 10/9/2022")
    assert "⚠️ Mốc này sẽ đứng sau mốc tiếp theo của kế hoạch: Thực hành (3 giai đoạn) (Thứ Tư 24/08/2022)." in later
    assert "⚠️ Ngày mới nằm ngoài thời gian của kế hoạch (tháng 08/2022)." in later
    assert "Đã sửa S10." in await ask(admin, "1")  # confirmed: saved as asked
    # A change that keeps the order says nothing more.
    assert "⚠️" not in await ask(admin, "/sua S12 thời gian 14h00 25/8/2022")


async def test_moving_an_item_into_the_past_warns_and_saves_once_confirmed(demo_app: App) -> None:
    admin = await console(demo_app, "admin")
    preview = await ask(admin, "/sua S1 thời gian 15h00 21/6/2022")
    assert "⚠️ Thời gian mới (15h00 Thứ Ba 21/06/2022) đã qua." in preview, preview
    assert "Đã sửa S1." in await ask(admin, "1")
    assert "⚠️" not in await ask(admin, "/sua S1 thời gian 15h00 24/6/2022")
    await ask(admin, "Hủy")
    shift = await ask(admin, "/sua T10 ngày 20/6/2022")
    assert "⚠️ Ngày mới (Thứ Hai 20/06/2022) đã qua." in shift


async def test_a_loud_log_level_stops_start_up_with_one_vietnamese_line(empty_db_url: str, tmp_path: Path) -> None:
    code, out, err = await qtbot_start_failure(qtbot_env(empty_db_url, log_level="LOUD"), tmp_path)
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        "Cấu hình sai: QTBOT_LOG_LEVEL: mức ghi log “LOUD” không có; dùng một trong DEBUG, INFO, WARNING, ERROR, "
        "CRITICAL"
    ]
