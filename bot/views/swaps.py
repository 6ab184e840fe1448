"""Duty swaps (/doica): the requests, the answers, the notices, the refusals, in Vietnamese.

Everything here reads a request's facts (bot/services/swaps.facts): the same dicts the notices store."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.messages import Button, Reply, esc
from bot.services.duty import role_name
from bot.vntime import fmt_date, fmt_time, fmt_weekday_date

USAGE = (
    "Đổi ca trực:\n"
    "• /doica 24/6 | Đỗ Văn Nam | 25/6 — đổi ca của mình ngày 24/6 lấy ca của đồng chí Nam ngày 25/6\n"
    "• /doica 24/6 | Đỗ Văn Nam — nhờ đồng chí Nam trực thay ca 24/6\n"
    "• /doica 24/6 — nhờ bất kỳ ai trong đơn vị nhận ca 24/6 (hoặc nhắn: ai nhận giúp ca 24/6)\n"
    "• /doica — các yêu cầu đổi ca đang chờ đồng chí trả lời hoặc duyệt\n"
    "Người nhận đồng ý, rồi quản trị (hoặc chỉ huy trưởng đơn vị) duyệt; yêu cầu hết hạn sau 24 giờ "
    "hoặc khi ca bắt đầu."
)


def _person(member: dict[str, Any] | None) -> str:
    if not member:
        return "?"
    return " ".join(p for p in (member.get("rank"), member.get("full_name")) if p)


def _shift_line(shift: dict[str, Any], tz: ZoneInfo, person: dict[str, Any] | None = None) -> str:
    start = datetime.fromisoformat(shift["starts_at"]).astimezone(tz)
    day = date.fromisoformat(shift["duty_date"])
    member = person or shift.get("member")
    who = _person(member) if member else (shift.get("person_label") or "?")
    return f"{role_name(shift['role'])} {fmt_weekday_date(day)} (từ {fmt_time(start.time())}): {who}"


def _day(shift: dict[str, Any]) -> str:
    return fmt_date(date.fromisoformat(shift["duty_date"]))


def _what(p: dict[str, Any], tz: ZoneInfo) -> str:
    """What the request asks, in one or two lines."""
    requester, target = _person(p["requester"]), _person(p["target"])
    mine = _shift_line(p["shift"], tz)
    if p["kind"] == "swap":
        return f"{requester} đổi ca với {target}:\n• {mine}\n• {_shift_line(p['other'], tz)}"
    if p["kind"] == "give" or p["target"]:
        return f"{requester} nhờ {target} trực thay:\n• {mine}"
    return f"{requester} nhờ một đồng chí trong {p['unit']['short_name']} nhận ca:\n• {mine}"


def _expiry(p: dict[str, Any], tz: ZoneInfo) -> str:
    moment = datetime.fromisoformat(p["expires_at"]).astimezone(tz)
    return f"Hết hạn lúc {fmt_time(moment.time())} {fmt_date(moment.date())}."


def _code(p: dict[str, Any]) -> str:
    return f"yêu cầu đổi ca #{p['id']}"


def answer_buttons(p: dict[str, Any]) -> list[list[Button]]:
    if p["kind"] == "offer" and not p["target"]:
        return [[Button("Nhận ca", f"/doica nhan {p['id']}")]]
    return [[Button("Đồng ý", f"/doica dongy {p['id']}"), Button("Từ chối", f"/doica tuchoi {p['id']}")]]


def approve_buttons(p: dict[str, Any]) -> list[list[Button]]:
    return [[Button("Duyệt", f"/doica duyet {p['id']}"), Button("Không duyệt", f"/doica khongduyet {p['id']}")]]


# --- Replies to the one who acts --------------------------------------------------------------------


def asked_reply(p: dict[str, Any], tz: ZoneInfo) -> Reply:
    to = "các đồng chí trong đơn vị" if p["kind"] == "offer" else _person(p["target"])
    return Reply(
        f"Đã gửi {_code(p)} tới {esc(to)}.\n{esc(_what(p, tz))}\n{_expiry(p, tz)} "
        "Khi có người đồng ý, yêu cầu chuyển người duyệt."
    )


def answered_reply(p: dict[str, Any], tz: ZoneInfo) -> Reply:
    if p["status"] == "refused":
        return Reply(f"Đã từ chối {_code(p)}. Đã báo {esc(_person(p['requester']))}.")
    return Reply(f"Đã đồng ý {_code(p)}; đang chờ duyệt.\n{esc(_what(p, tz))}")


def decided_reply(p: dict[str, Any], tz: ZoneInfo) -> Reply:
    if p["status"] == "rejected":
        return Reply(f"Không duyệt {_code(p)}. Đã báo hai đồng chí.")
    return Reply(f"Đã duyệt {_code(p)}. Lịch trực nay:\n{esc(_after(p, tz))}")


def _after(p: dict[str, Any], tz: ZoneInfo) -> str:
    lines = [f"• {_shift_line(p['shift'], tz)}"]
    if p["other"]:
        lines.append(f"• {_shift_line(p['other'], tz)}")
    return "\n".join(lines)


def waiting_reply(items: list[tuple[dict[str, Any], str]], tz: ZoneInfo) -> Reply:
    """The open requests that concern the asker; ``role``: answer / approve / mine."""
    if not items:
        return Reply("Không có yêu cầu đổi ca nào đang chờ.\n\n" + esc(USAGE))
    lines, buttons = ["<b>Yêu cầu đổi ca đang chờ</b>"], []
    for p, role in items:
        state = "chờ người nhận đồng ý" if p["status"] == "asked" else "chờ duyệt"
        lines.append(f"#{p['id']} ({state}) {esc(_what(p, tz))}\n{_expiry(p, tz)}")
        if role == "answer":
            buttons += answer_buttons(p)
        elif role == "approve":
            buttons += approve_buttons(p)
    return Reply("\n".join(lines), buttons=buttons)


# --- Notices (bot/views/notices.RENDERERS) ----------------------------------------------------------


def asked_notice(p: dict[str, Any], tz: ZoneInfo) -> Reply:
    head = "Nhờ nhận ca trực" if p["kind"] == "offer" else "Đề nghị đổi ca trực"
    return Reply(f"<b>{head}</b> (#{p['id']})\n{esc(_what(p, tz))}\n{_expiry(p, tz)}", buttons=answer_buttons(p))


def agreed_notice(p: dict[str, Any], tz: ZoneInfo) -> Reply:
    return Reply(
        f"<b>Đổi ca</b>: {esc(_person(p['target']))} đã đồng ý {_code(p)}; đang chờ duyệt.\n{esc(_what(p, tz))}"
    )


def to_approve_notice(p: dict[str, Any], tz: ZoneInfo) -> Reply:
    return Reply(
        f"<b>Duyệt đổi ca trực</b> (#{p['id']}, {esc(p['unit']['short_name'])})\n{esc(_what(p, tz))}\n"
        f"Hai đồng chí đã thống nhất. {_expiry(p, tz)}",
        buttons=approve_buttons(p),
    )


def refused_notice(p: dict[str, Any], tz: ZoneInfo) -> Reply:
    del tz
    return Reply(f"<b>Đổi ca</b>: {esc(_person(p['target']))} đã từ chối {_code(p)}. Ca trực giữ nguyên.")


def rejected_notice(p: dict[str, Any], tz: ZoneInfo) -> Reply:
    return Reply(f"<b>Đổi ca</b>: {_code(p)} không được duyệt. Ca trực giữ nguyên.\n{esc(_what(p, tz))}")


def approved_notice(p: dict[str, Any], tz: ZoneInfo) -> Reply:
    """The one notice of an approved swap: the shifts as they are now, naming the new person."""
    return Reply(
        f"<b>Thay đổi người trực</b> ({esc(p['unit']['short_name'])}, đã duyệt đổi ca)\nNay:\n{esc(_after(p, tz))}"
    )


def expired_notice(p: dict[str, Any], tz: ZoneInfo) -> Reply:
    return Reply(
        f"<b>Đổi ca</b>: {_code(p)} đã hết hạn mà chưa xong (chưa ai nhận hoặc chưa được duyệt). "
        f"Ca trực giữ nguyên.\n{esc(_what(p, tz))}"
    )


RENDERERS = {
    "swap_asked": asked_notice,
    "swap_agreed": agreed_notice,
    "swap_to_approve": to_approve_notice,
    "swap_refused": refused_notice,
    "swap_rejected": rejected_notice,
    "swap_approved": approved_notice,
    "swap_expired": expired_notice,
}


# --- Refusals (bot/services/swaps.SwapRefused) -----------------------------------------------------


def refusal_text(exc: Any, tz: ZoneInfo) -> str:
    f = exc.facts
    day = fmt_date(date.fromisoformat(f["day"])) if f.get("day") else ""
    clash = f.get("clash")
    clash_text = _shift_line(clash, tz) if clash else ""
    texts = {
        "no_unit": "Đồng chí chưa thuộc đơn vị nào nên không có ca trực để đổi.",
        "no_shift": f"Ngày {day} đồng chí không có ca trực nào để đổi. Xem: khi nào tôi trực.",
        "no_other_shift": f"Ngày {day} đồng chí {f.get('name')} không có ca trực nào để đổi lấy.",
        "past": f"Ca trực ngày {day} đã bắt đầu hoặc đã qua; chỉ đổi được ca sắp tới.",
        "outside_unit": f"Đồng chí {f.get('name')} không thuộc đơn vị của ca trực này; chỉ đổi ca trong đơn vị.",
        "unknown_person": f"Không tìm thấy đồng chí “{f.get('name')}” trong đơn vị.",
        "which_person": f"Có nhiều người tên “{f.get('name')}”: " + ", ".join(f.get("names", [])) + "; ghi đủ họ tên.",
        "self": "Không thể đổi ca với chính mình.",
        "two_at_once": f"Không được: đồng chí {f.get('name')} sẽ trực hai ca cùng lúc ({clash_text}).",
        "back_to_back": f"Không được: đồng chí {f.get('name')} sẽ trực hai ca 24 giờ liền nhau ({clash_text}).",
        "already_asked": f"Ca này đang có yêu cầu đổi ca #{f.get('number')} chờ xử lý.",
        "not_found": f"Không có yêu cầu đổi ca #{f.get('number')}.",
        "expired": f"Yêu cầu đổi ca #{f.get('number')} đã hết hạn.",
        "not_open": f"Yêu cầu đổi ca #{f.get('number')} đã xong ({STATUS_NAMES.get(f.get('status'), '?')}).",
        "not_yours": f"Yêu cầu đổi ca #{f.get('number')} không gửi cho đồng chí.",
        "offer_no_refusal": "Không nhận thì đồng chí không cần làm gì.",
        "not_approver": f"Đồng chí không có quyền duyệt yêu cầu đổi ca #{f.get('number')}.",
        "changed_since": f"Ca trực của yêu cầu #{f.get('number')} đã được sửa từ khi gửi; gửi yêu cầu mới.",
    }
    return texts[exc.reason]


STATUS_NAMES = {
    "approved": "đã duyệt",
    "rejected": "không được duyệt",
    "refused": "đã bị từ chối",
    "expired": "đã hết hạn",
    "asked": "chờ người nhận",
    "agreed": "chờ duyệt",
}


def bad_day(text: str) -> str:
    return f"Không hiểu ngày “{text}”; ghi dạng 24/6.\n\n{USAGE}"


def person_not_found(name: str, names: list[str]) -> str:
    """``qtbot chat --as person:<name>`` naming nobody, or several people."""
    if names:
        return f"Có nhiều người tên “{name}”: {', '.join(names)}; ghi đủ họ tên."
    return f"Không tìm thấy người tên “{name}” trong danh sách trực của các đơn vị. Chạy `./run.sh demo`?"
