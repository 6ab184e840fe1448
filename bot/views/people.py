"""Members and roles (/thanhvien, /capquyen, /thuhoi): the hints name people who are in the list."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.messages import esc

if TYPE_CHECKING:
    from bot.models import Member


def role_hint(officer: Member | None, admin: Member | None) -> str:
    """How to grant and revoke admin, with the code of someone listed (no example for nobody)."""
    parts = []
    if officer is not None:
        parts.append(f"cấp quyền quản trị: /capquyen M{officer.id} ({esc(officer.full_name)})")
    if admin is not None:
        parts.append(f"thu hồi: /thuhoi M{admin.id} ({esc(admin.full_name)})")
    if not parts:
        return ""
    text = "; ".join(parts)
    return text[0].upper() + text[1:]
