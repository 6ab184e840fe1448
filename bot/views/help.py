"""Welcome, help and "not understood" texts."""

from __future__ import annotations

from datetime import date

from bot.messages import Button, Reply
from bot.services.units import UnitRef
from bot.vntime import capitalize, fmt_date_range

EXAMPLES = (
    "• lịch trực tuần này\n"
    "• hôm nay ai trực chỉ huy?\n"
    "• kết quả chấm điểm quý 2\n"
    "• Bình Lục quý II được bao nhiêu điểm?\n"
    "• nhiệm vụ 6 tháng cuối năm\n"
    "• lịch diễn tập xã Ba Sao\n"
    "• hội nghị sơ kết ở đâu?\n"
    "• cụm 2 gồm những đơn vị nào?"
)

GUEST_TEXT = (
    "Bạn chưa là thành viên của cụm thi đua. Để tham gia, xin cán bộ quản trị cụm một mã mời "
    "rồi gửi: /start MÃ_MỜI (hoặc bấm vào đường link mời)."
)


def commands_text(commands: list[tuple[str, str, str]]) -> str:
    """One line per command: '/truc (/duty) — Lịch trực SSCĐ'."""
    return "\n".join(f"/{vi} (/{en}) — {desc}" for vi, en, desc in commands)


def help_reply(role: str, commands: list[tuple[str, str, str]]) -> Reply:
    if role == "guest":
        return Reply(f"<b>Quyết Thắng Bot</b> — trợ lý của cụm thi đua.\n{GUEST_TEXT}")
    return Reply(
        "<b>Quyết Thắng Bot</b> — hỏi bằng lệnh hoặc bằng lời thường, có dấu hay không dấu đều được.\n"
        f"{commands_text(commands)}\n\nVí dụ câu hỏi:\n{EXAMPLES}"
    )


def not_understood_reply() -> Reply:
    return Reply(f"Tôi chưa hiểu câu hỏi. Bạn có thể hỏi, ví dụ:\n{EXAMPLES}\nGõ /trogiup để xem các lệnh.")


def too_long_reply(length: int, limit: int) -> Reply:
    return Reply(
        f"Tin nhắn quá dài ({length:,} ký tự).".replace(",", ".")
        + f" Hãy hỏi ngắn gọn, tối đa {limit:,} ký tự.".replace(",", ".")
    )


CAN_DO = (
    "lịch trực SSCĐ, lịch hội nghị và kiểm tra, diễn tập, nhiệm vụ trọng tâm, kết quả chấm điểm và xếp hạng, "
    "các đơn vị trong cụm, đợt tăng cường trực, chỉ thị và tin tức"
)


def small_talk_reply(*, thanks: bool, guest: bool) -> Reply:
    if thanks:
        return Reply("Không có gì ạ! Đồng chí cần gì cứ hỏi tiếp.")
    if guest:
        return Reply(f"Chào bạn! {GUEST_TEXT}")
    return Reply(f"Chào đồng chí! Tôi trả lời về {CAN_DO}. Ví dụ: “mai ai trực?”, “Kim Bảng xếp thứ mấy?”.")


def goodbye_reply() -> Reply:
    return Reply("Chào đồng chí! Cần gì cứ nhắn cho tôi.")


def out_of_scope_reply() -> Reply:
    return Reply(
        f"Việc này tôi chưa làm được. Tôi trả lời về {CAN_DO}; nhắc lịch và bản tin: /dangky. "
        "Gõ /trogiup để xem các lệnh.",
        buttons=[[Button("Hướng dẫn", "/trogiup")]],
    )


def clarify_reply(choices: list[tuple[str, str]]) -> Reply:
    """Two readings fit: one short question, a button each (label, command)."""
    return Reply("Đồng chí muốn xem gì?", buttons=[[Button(label, data)] for label, data in choices])


def span_choice_reply(unit: UnitRef | None, span: tuple[date, date, str]) -> Reply:
    """A day or a week and nothing else ("Kim Bảng tuần sau"): the roster or the meetings? Ask."""
    start, end, _ = span
    token = f"s:{start:%Y%m%d}-{end:%Y%m%d}"
    on = f" {unit.short_name}" if unit else ""
    duty = f"/truc u:{unit.id} {token}" if unit else f"/truc {token}"
    return clarify_reply(
        [(f"Lịch trực{on} {fmt_date_range(start, end)}", duty), ("Lịch hội nghị, họp", f"/lich {token}")]
    )


SUBJECT_NAMES = {
    "duty": "lịch trực SSCĐ",
    "schedule": "lịch hội nghị, họp",
    "drills": "kế hoạch diễn tập",
    "tasks": "nhiệm vụ trọng tâm",
    "results": "kết quả chấm điểm",
    "ranking": "bảng xếp hạng",
    "units": "các đơn vị trong cụm",
    "news": "tin tức",
    "readiness": "các đợt tăng cường trực",
    "directives": "chỉ thị, cuộc vận động",
}


def did_you_mean_reply(subject: str, command: str) -> Reply:
    """A question nothing understood, but close to a subject's words: ask, with the answer a button away."""
    name = SUBJECT_NAMES.get(subject, subject)
    return Reply(
        f"Tôi chưa hiểu câu hỏi. Có phải đồng chí muốn xem {name}?",
        buttons=[[Button(capitalize(name), f"/{command}"), Button("Hướng dẫn", "/trogiup")]],
    )
