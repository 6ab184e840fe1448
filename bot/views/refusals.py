"""Refusals of the people, groups, feeds, subscriptions, reports and imports use cases, in Vietnamese.

A use case raises a :class:`~bot.services.errors.Refused` carrying the facts; a handler runs it inside
:func:`phrased`, which turns it into the :class:`~bot.errors.UserError` the dispatcher shows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.errors import UserError
from bot.services import errors
from bot.services.duty import DUTY_ROLES
from bot.services.subscriptions import KINDS
from bot.vntime import fmt_date, fmt_points

if TYPE_CHECKING:
    from bot.imports import RowError

ADMINS_ONLY = "Lệnh này chỉ dành cho cán bộ quản trị cụm."
GROUP_SETTINGS_ADMINS_ONLY = "Chỉ cán bộ quản trị mới đổi cài đặt nhận tin của nhóm."
_GROUP_SETTINGS = {"settings.read", "settings.quiet", "subscription.on", "subscription.off"}
_INVITE = {
    "unknown": "Mã mời không đúng hoặc đã bị thu hồi. Hãy xin cán bộ quản trị cụm một mã mới.",
    "revoked": "Mã mời không đúng hoặc đã bị thu hồi. Hãy xin cán bộ quản trị cụm một mã mới.",
    "expired": "Mã mời đã hết hạn. Hãy xin cán bộ quản trị cụm một mã mới.",
    "used_up": "Mã mời đã được dùng hết số lần cho phép. Hãy xin một mã mới.",
}
_INVALID_INVITE = {
    "role": "Vai trò mời phải là 'officer' (cán bộ) hoặc 'admin' (quản trị).",
    "max_uses": "Số lần dùng mã mời phải từ 1 đến 500.",
}
NO_UNIT_TO_REPORT = "Đồng chí chưa gắn với đơn vị nào; quản trị ghi rõ đơn vị: /baocao FT1 Kim Bảng 50%."
PROGRESS_EXAMPLE = "Viết tiến độ như: 50%, xong, đang thực hiện. Ví dụ: /baocao FT1 50% đã tập huấn khung"
QUIET_EXAMPLE = "Viết giờ yên lặng như: /caidat yên lặng 22h-6h (từ 22h00 đến 06h00 hôm sau)."
FEED_USAGE = "Viết: /themnguon https://... (địa chỉ RSS hoặc Atom)"
_FEED_PROBLEMS = {
    "status": "địa chỉ trả lời lỗi",
    "timeout": "địa chỉ không trả lời trong 5 giây",
    "network": "không kết nối được tới địa chỉ này",
    "not_a_feed": "địa chỉ này không phải nguồn tin RSS hoặc Atom",
}
LINK_IN_GROUP = "Dùng /lienket <đơn vị> ngay trong nhóm cần liên kết (thêm bot vào nhóm trước)."
ROSTER_NEEDS_UNIT = "Tệp không có cột Đơn vị: ghi đơn vị trong chú thích, ví dụ /nhap lịch trực Kim Bảng."


def not_joined(group_chat: bool) -> str:
    if group_chat:
        return "Nhóm này chưa liên kết với đơn vị nào. Quản trị dùng /lienket <đơn vị> trong nhóm."
    return "Đồng chí chưa tham gia bot. Gửi /start MÃ_MỜI để tham gia."


@dataclass(frozen=True)
class FileError:
    """One error of an imported file: where (row, column), the cell as written, what is wrong and
    how to write it instead."""

    row: int
    column: str
    value: str
    problem: str
    hint: str = ""

    def line(self) -> str:
        where = f"Dòng {self.row}" + (f", cột {self.column}" if self.column else "")
        cell = f" “{self.value}”" if self.value else ""
        hint = f" → {self.hint}" if self.hint else ""
        return f"{where}{cell}: {self.problem}{hint}"


_UNIT_HINT = "ghi tên đơn vị như trong /donvi, ví dụ Kim Bảng"


def row_problem(problem: errors.RowProblem) -> FileError:
    match problem:
        case errors.UnknownUnitRow(row=row, unit=unit):
            return FileError(row, "Đơn vị", unit, "không có đơn vị này.", _UNIT_HINT)
        case errors.OutsideClusterRow(row=row, unit=unit):
            return FileError(row, "Đơn vị", unit, "không phải đơn vị trong cụm.", _UNIT_HINT)
        case errors.PastDayRow(row=row, day=day):
            return FileError(
                row, "Ngày", fmt_date(day), "ngày này đã qua (ca trực đã bắt đầu).", "chỉ nhập lịch trực sắp tới"
            )
        case errors.TakenShiftRow(row=row, role=role, day=day, person=person, shift_id=shift_id):
            name = DUTY_ROLES.get(role, role)
            return FileError(
                row,
                name,
                "",
                f"đã có {name.lower()} ngày {fmt_date(day)}: {person} [T{shift_id}].",
                "thêm chữ “thay thế” vào chú thích /nhap để thay lịch cũ",
            )
        case errors.RefusedRow(row=row, column=column, value=value, reason=reason):
            return FileError(row, column, value, reason)
        case errors.OutOfRangeRow():
            return FileError(
                problem.row,
                problem.code,
                fmt_points(problem.value),
                f"ngoài khung {fmt_points(problem.low)}–{fmt_points(problem.high)}.",
                f"ghi số từ {fmt_points(problem.low)} đến {fmt_points(problem.high)}",
            )
    raise TypeError(problem)


def _unreadable(error: RowError) -> FileError:
    """A parser error (its message reads "Dòng N: what. How.")."""
    text = error.message.removeprefix(f"Dòng {error.row}: ")
    problem, _, hint = text.partition(". ")
    problem = problem if problem.endswith(".") or not hint else problem + "."
    return FileError(error.row, error.column, error.value, problem, hint.rstrip("."))


def file_errors(rejected: errors.RowsRejected) -> list[FileError]:
    """Every error of the file, in row order."""
    found = [*map(_unreadable, rejected.unreadable), *map(row_problem, rejected.problems)]
    return sorted(found, key=lambda e: e.row)


def rejected_text(rejected: errors.RowsRejected) -> str:
    found = file_errors(rejected)
    rows = len({e.row for e in found})
    lines = [f"Không nhập gì: tệp có {len(found)} lỗi ở {rows} dòng. Sửa hết rồi gửi lại:"]
    lines += [f"• {e.line()}" for e in found]
    return "\n".join(lines)


def _feed_problem(error: errors.FeedUnreachable) -> str:
    problem = _FEED_PROBLEMS.get(error.reason, "không đọc được")
    if error.status:
        problem += f" {error.status}" + (" (không có trang này)" if error.status == 404 else "")
    return f"Chưa thêm nguồn tin {error.url}: {problem}. Kiểm tra lại địa chỉ RSS/Atom rồi gửi lại."


def refusal_text(error: errors.Refused, *, group_chat: bool = False) -> str:
    """What to tell the user; ``group_chat``: the message came from a group."""
    match error:
        case errors.AdminOnly(action=action) if action in _GROUP_SETTINGS:
            return GROUP_SETTINGS_ADMINS_ONLY
        case errors.AdminOnly(action="task.report"):
            return "Chỉ cán bộ quản trị mới báo cáo thay cho đơn vị khác."
        case errors.AdminOnly():
            return ADMINS_ONLY
        case errors.SelfDemotion():
            return "Không tự thu hồi quyền của mình; nhờ một quản trị khác."
        case errors.InviteRefused(reason=reason):
            return _INVITE[reason]
        case errors.InvalidInvite(field=field):
            return _INVALID_INVITE[field]
        case errors.AmbiguousMember():
            return (
                f"Có {error.count} người dùng bot tên “{error.reference}”; "
                "dùng mã của người cần chọn (M và số) trong /thanhvien."
            )
        case errors.MemberNotFound():
            return f"Không tìm thấy người dùng bot “{error.reference}”. Xem mã (M và số) trong /thanhvien."
        case errors.UnitNotFound():
            return "Không tìm thấy đơn vị này."
        case errors.PersonNotInUnit():
            return "Người được mời không thuộc đơn vị này."
        case errors.NotAGroup():
            return LINK_IN_GROUP
        case errors.InvalidFeed():
            return FEED_USAGE
        case errors.FeedUnreachable():
            return _feed_problem(error)
        case errors.TaskNotFound():
            return "Không có nhiệm vụ này. Xem mã nhiệm vụ trong /nhiemvu."
        case errors.NoUnitToReport():
            return NO_UNIT_TO_REPORT
        case errors.NotAssigned(task_code=code):
            return f"Đơn vị không được giao nhiệm vụ {code}."
        case errors.InvalidProgress():
            return PROGRESS_EXAMPLE
        case errors.NoRecipients():
            return "Không có chat nào nhận thông báo trong phạm vi này."
        case errors.ChatNotJoined():
            return not_joined(group_chat)
        case errors.UnknownKinds():
            return f"Không rõ loại tin. Có các loại: {', '.join(KINDS.values())}; hoặc “tất cả”."
        case errors.InvalidQuietHours():
            return QUIET_EXAMPLE
        case errors.RowsRejected():
            return rejected_text(error)
        case errors.UnitUnknownForRoster():
            return ROSTER_NEEDS_UNIT
    return str(error)


@contextmanager
def phrased(*, group_chat: bool = False) -> Iterator[None]:
    """Run a use case; a refusal comes out as a UserError in Vietnamese."""
    try:
        yield
    except errors.Refused as error:
        raise UserError(refusal_text(error, group_chat=group_chat), buttons=error.buttons) from error
