"""Cluster membership texts."""

from __future__ import annotations

from bot.messages import Button, Reply, esc
from bot.models import Unit
from bot.services.units import AREA_TYPE_NAMES, ClusterView, cluster_role_name


def cluster_reply(view: ClusterView) -> Reply:
    cluster = view
    lines = [f"<b>{esc(cluster.name)} năm {cluster.year}</b> gồm {len(view.members)} đơn vị:"]
    for index, (unit, role) in enumerate(view.members, start=1):
        suffix = f" — <b>{cluster_role_name(role)}</b>" if role != "member" else ""
        lines.append(f"{index}. {esc(unit.name)}{suffix}")
    roles = head_line(view)
    if roles:
        lines.append(roles)
    if cluster.theme:
        lines.append(f"Chủ đề thi đua: “{esc(cluster.theme)}”.")
    return Reply("\n".join(lines))


def head_line(view: ClusterView) -> str:
    """'Cụm trưởng: Ban CHQS huyện Kim Bảng; cụm phó: Ban CHQS huyện Thanh Liêm (dữ liệu minh họa).'"""
    roles = []
    if view.head:
        roles.append(f"Cụm trưởng: {esc(view.head.name)}")
    if view.deputy:
        roles.append(f"cụm phó: {esc(view.deputy.name)}")
    if not roles:
        return ""
    note = " (dữ liệu minh họa)" if view.illustrative else ""
    return "; ".join(roles) + f"{note}."


def head_reply(view: ClusterView) -> Reply:
    """'ai là cụm trưởng' -> that line, the whole cluster a button away."""
    line = head_line(view) or f"{esc(view.name)} chưa có cụm trưởng."
    return Reply(line, buttons=[[Button("Các đơn vị trong cụm", "/donvi")]])


def unit_reply(unit: Unit, role: str | None, cluster_name: str | None, communes: list[Unit]) -> Reply:
    lines = [f"<b>{esc(unit.name)}</b>"]
    if role and cluster_name:
        lines.append(f"{cluster_role_name(role).capitalize()} {esc(cluster_name)}.")
    if communes:
        kinds: dict[str, int] = {}
        for commune in communes:
            kinds[commune.area_type or "xa"] = kinds.get(commune.area_type or "xa", 0) + 1
        parts = [
            f"{n} {name}"
            for key, name in (("xa", "xã"), ("phuong", "phường"), ("thi_tran", "thị trấn"))
            if (n := kinds.get(key))
        ]
        lines.append(f"Địa bàn: {len(communes)} đơn vị hành chính cấp xã ({', '.join(parts)}).")
    return Reply("\n".join(lines))


def commune_reply(commune: Unit, district: Unit | None, note: str | None) -> Reply:
    """'xã Ba Sao thuộc huyện nào' -> what the commune is and whose it is."""
    lines = [esc(note)] if note else []
    kind = AREA_TYPE_NAMES.get(commune.area_type or "", "")
    what = f"{esc(commune.name)}" + (f" là {kind}" if kind else "")
    if district is not None:
        what += f", thuộc địa bàn {esc(district.name)}"
    lines.append(what + ".")
    buttons = [[Button("Kế hoạch diễn tập", f"/dientap u:{commune.id}")]]
    return Reply("\n".join(lines), buttons=buttons)
