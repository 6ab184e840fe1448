"""Welcome, help and "not understood" texts."""

from __future__ import annotations

from bot.messages import Reply

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
