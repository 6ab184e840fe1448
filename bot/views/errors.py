"""Domain errors (bot/errors.py) in Vietnamese, as plain text (the handler escapes it)."""

from __future__ import annotations

from bot import errors
from bot.services.errors import Refused
from bot.services.members import ROLE_NAMES
from bot.views.refusals import refusal_text
from bot.vntime import fmt_date, fmt_points

# What each editable field is called (shown in /sua).
FIELD_NAMES = {
    "when": "Thời gian",
    "place": "Địa điểm",
    "title": "Nội dung",
    "units": "Thành phần",
    "person": "Người trực",
    "day": "Ngày trực",
    "due": "Hạn",
}


def editable_text(fields: tuple[str, ...]) -> str:
    names = ", ".join(dict.fromkeys(FIELD_NAMES[f].lower() for f in fields))
    return f"Với mục này, sửa được: {names or 'không có gì sửa được'}."


def phrase(exc: errors.DomainError, *, group_chat: bool = False) -> str:
    """What to tell the user about a refused change (every domain error, of every use case)."""
    if isinstance(exc, Refused):
        return refusal_text(exc, group_chat=group_chat)
    match exc:
        case errors.NotAllowed():
            return f"Chỉ {ROLE_NAMES.get(exc.needed, exc.needed)} mới làm được việc này."
        case errors.ItemNotFound():
            return f"Không có mục {exc.code}."
        case errors.ItemCancelled():
            return f"Mục {exc.code} đã hủy."
        case errors.StaleItem():
            return f"Mục {exc.code} vừa được người khác sửa; xem lại rồi làm lại."
        case errors.FieldNotEditable() if exc.kind == "drill":
            return "Kế hoạch diễn tập: sửa từng mốc bằng mã S (xem /dientap), hoặc /huy cả kế hoạch."
        case errors.FieldNotEditable():
            return editable_text(exc.editable)
        case errors.DueDatePassed():
            return f"Hạn {fmt_date(exc.due)} đã qua; cho một hạn sắp tới."
        case errors.NoCluster():
            return "Chưa có cụm thi đua nào trong dữ liệu."
        case errors.NoCriteria():
            return "Cụm chưa có biểu điểm (tiêu chí chấm điểm)."
        case errors.UnknownCriterion():
            return f"Không có tiêu chí {exc.code}. Các tiêu chí: {', '.join(exc.known)}."
        case errors.InvalidScore() if exc.reason == "not_a_number":
            return (
                f"Điểm {exc.criterion} ({exc.name}) phải là một số, ví dụ {exc.criterion}=18,5 (đang là “{exc.value}”)."
            )
        case errors.InvalidScore():
            return (
                f"Điểm {exc.criterion} ({exc.name}) là {fmt_points(exc.value)}, vượt khung "
                f"{fmt_points(exc.minimum)}–{fmt_points(exc.maximum)}."
            )
        case errors.PeriodNotFound():
            return f"Chưa có điểm nào của {exc.label}; nhập bằng /chamdiem trước."
        case errors.AlreadyPublished():
            return f"Kết quả {exc.label} đã công bố từ trước."
    return "Không làm được việc này."
