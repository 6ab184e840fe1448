"""Demo data: Cụm thi đua số 2 (Hà Nam), 2022, from DOMAIN.md §6 and the article in shared/seed.

Everything marked [DEMO] in DOMAIN.md is invented for the demo (names on the roster, the drill plan,
task progress); the Q2 scores are illustrative and every screen that shows them says so. Loading is
idempotent: each row has a stable ``key`` and is only inserted when missing.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import (
    Cluster,
    ClusterMember,
    Criterion,
    Directive,
    DrillPlan,
    DutyShift,
    Event,
    Member,
    NewsItem,
    ReadinessPeriod,
    ReviewPeriod,
    Score,
    Task,
    TaskAssignment,
    Unit,
)
from bot.services import app_state
from bot.services.results import compute_results

YEAR = 2022
DEMO_ENTERED_ON = date(2022, 6, 1)
# The moment the demo answers as of: the day before its conference, 10h00 (local time).
DEMO_NOW = "2022-06-22 10:00"
COMMUNES_FILE = Path(__file__).parent / "data" / "hanam_admin_2022.json"
AREA_TYPES = {"Xã": "xa", "Phường": "phuong", "Thị trấn": "thi_tran"}
# key, full name, short name, kind, GSO code of the district, aliases
UNITS = [
    ("U-HN", "Bộ CHQS tỉnh Hà Nam", "Bộ CHQS tỉnh", "province_command", "35", ["Bộ CHQS tỉnh", "tỉnh đội"]),
    ("U-KB", "Ban CHQS huyện Kim Bảng", "Kim Bảng", "district_command", "350", ["KB", "huyện Kim Bảng"]),
    ("U-TL", "Ban CHQS huyện Thanh Liêm", "Thanh Liêm", "district_command", "351", ["TL"]),
    ("U-PL", "Ban CHQS TP Phủ Lý", "Phủ Lý", "district_command", "347", ["PL", "thành phố Phủ Lý"]),
    ("U-DT", "Ban CHQS TX Duy Tiên", "Duy Tiên", "district_command", "349", ["thị xã Duy Tiên"]),
    ("U-BL", "Ban CHQS huyện Bình Lục", "Bình Lục", "district_command", "352", ["BL"]),
    ("U-LN", "Ban CHQS huyện Lý Nhân", "Lý Nhân", "district_command", "353", ["LN"]),
    (
        "U-151",
        "Trung đoàn 151",
        "Trung đoàn 151",
        "regiment",
        None,
        ["TĐ 151", "TĐ151", "e151", "e 151", "trung đoàn 151", "Trung doan 151"],
    ),
]
CLUSTER_ORDER = [
    ("U-KB", "head"),
    ("U-TL", "deputy"),
    ("U-PL", "member"),
    ("U-DT", "member"),
    ("U-BL", "member"),
    ("U-LN", "member"),
    ("U-151", "member"),
]

# key, rank, full name, position, short position
KB_PEOPLE = [
    ("P-KB-AN", "Thượng tá", "Nguyễn Văn An", "Chỉ huy trưởng", "CHT"),
    ("P-KB-BINH", "Thượng tá", "Trần Đức Bình", "Chính trị viên", "CTV"),
    ("P-KB-CUONG", "Trung tá", "Lê Quang Cường", "Phó CHT – Tham mưu trưởng", "Phó CHT–TMT"),
    ("P-KB-DUNG", "Trung tá", "Phạm Minh Dũng", "Phó Chỉ huy trưởng", "Phó CHT"),
    ("P-KB-HAI", "Trung tá", "Hoàng Văn Hải", "Chính trị viên phó", "CTV phó"),
    ("P-KB-LONG", "Thiếu tá", "Vũ Thành Long", "Trợ lý", "trợ lý"),
    ("P-KB-NAM", "Đại úy", "Đỗ Văn Nam", "Trợ lý", "trợ lý"),
    ("P-KB-QUANG", "Đại úy", "Đinh Văn Quang", "Trợ lý", "trợ lý"),
    ("P-KB-PHUC", "Thượng úy", "Ngô Văn Phúc", "Trợ lý", "trợ lý"),
]
# day of June 2022, trực chỉ huy, trực ban, trực chiến, note
KB_ROSTER = [
    (20, "P-KB-AN", "P-KB-LONG", "Tổ 1", None),
    (21, "P-KB-BINH", "P-KB-NAM", "Tổ 2", None),
    (22, "P-KB-CUONG", "P-KB-PHUC", "Tổ 1", None),
    (23, "P-KB-DUNG", "P-KB-QUANG", "Tổ 2", "CHT/CTV dự hội nghị cụm 14h00"),
    (24, "P-KB-HAI", "P-KB-LONG", "Tổ 1", None),
    (25, "P-KB-CUONG", "P-KB-NAM", "Tổ 2", None),
    (26, "P-KB-AN", "P-KB-PHUC", "Tổ 1", None),
]

DIRECTIVES = [
    (
        "CT-05",
        "chi_thi",
        "05",
        "05-CT/TW",
        "Bộ Chính trị",
        "về đẩy mạnh học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh",
        True,
    ),
    (
        "CT-87",
        "chi_thi",
        "87",
        "87-CT/QUTW",
        "Thường vụ Quân ủy Trung ương",
        "về học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh trong Quân đội",
        True,
    ),
    (
        "CVD-BDCH",
        "cuoc_van_dong",
        None,
        None,
        None,
        "Phát huy truyền thống, cống hiến tài năng, xứng danh Bộ đội Cụ Hồ",
        False,
    ),
    ("PT-NTM", "phong_trao", None, None, None, "Quân đội chung sức xây dựng nông thôn mới", False),
    (
        "PT-NGHEO",
        "phong_trao",
        None,
        None,
        None,
        "Quân đội chung tay vì người nghèo – Không để ai bị bỏ lại phía sau",
        False,
    ),
    (
        "CVD-VKTBKT",
        "cuoc_van_dong",
        None,
        None,
        None,
        "Quản lý, khai thác vũ khí, trang bị kỹ thuật tốt, bền, an toàn, tiết kiệm và an toàn giao thông",
        False,
    ),
]

CONFERENCE_SUMMARY = (
    "Quý nào cũng kiểm tra, chấm điểm thi đua chéo giữa các đơn vị, làm cơ sở đánh giá kết quả hoàn "
    'thành nhiệm vụ. Thực hiện tốt Chỉ thị 05-CT/TW, Chỉ thị 87-CT/QUTW, Cuộc vận động "Phát huy truyền '
    'thống, cống hiến tài năng, xứng danh Bộ đội Cụ Hồ", các phong trào "Quân đội chung sức xây dựng '
    'nông thôn mới", "Quân đội chung tay vì người nghèo – Không để ai bị bỏ lại phía sau".'
)

READINESS = [
    ("R-2022-TET", "Tết Nguyên đán Nhâm Dần", date(2022, 1, 28), date(2022, 2, 7)),
    ("R-2022-GIOTO", "Giỗ Tổ Hùng Vương", date(2022, 4, 9), date(2022, 4, 11)),
    ("R-2022-3004", "30/4 – 1/5", date(2022, 4, 29), date(2022, 5, 3)),
    ("R-2022-0209", "Quốc khánh 2/9", date(2022, 8, 31), date(2022, 9, 5)),
]

# code, category, title, due date, [DEMO] progress per unit key (status, %, report)
TASKS = [
    (
        "FT1",
        "dien_tap",
        "Chuẩn bị và tổ chức diễn tập chiến đấu phòng thủ cấp xã, phường, thị trấn",
        date(2022, 10, 20),
        {"U-KB": ("in_progress", 10, "Đã dự thảo kế hoạch diễn tập 4 xã, thị trấn")},
    ),
    ("FT2", "truc_sscd", "Duy trì nghiêm chế độ trực sẵn sàng chiến đấu", date(2022, 12, 31), "in_progress"),
    ("FT3", "lanh_dao_dang", "Tăng cường sự lãnh đạo của Đảng", date(2022, 12, 31), "in_progress"),
    ("FT4", "hau_can_tai_chinh", "Bảo đảm hậu cần, tài chính cho huấn luyện", date(2022, 12, 31), None),
    ("FT5", "kiem_tra", "Kiểm tra chéo quý III (26–30/9/2022)", date(2022, 9, 30), None),
    ("FT6", "thi_dua", "Tổng kết năm và suy tôn đơn vị dẫn đầu", date(2022, 11, 24), None),
]

CRITERIA = [
    ("G1", "Lãnh đạo, CTĐ-CTCT", 20),
    ("G2", "Huấn luyện, SSCĐ, diễn tập", 30),
    ("G3", "Xây dựng lực lượng, chính quy – kỷ luật", 15),
    ("G4", "Hậu cần – tài chính – kỹ thuật", 15),
    ("G5", "Dân vận, chính sách, phong trào", 10),
    ("G6", "Thi đua khen thưởng và hoạt động cụm", 10),
]
# ILLUSTRATIVE Q2/2022 scores (DOMAIN.md §6.6): G1..G6, ±
Q2_SCORES = {
    "U-KB": ("18.5", "27.5", "13.5", "13.5", "9.0", "9.5", "1.0"),
    "U-TL": ("18.0", "27.0", "13.5", "13.0", "9.0", "9.0", "0.5"),
    "U-151": ("18.0", "27.0", "13.0", "13.0", "8.5", "9.0", "0"),
    "U-PL": ("17.5", "26.5", "13.0", "13.0", "8.5", "9.0", "0"),
    "U-DT": ("17.5", "26.0", "13.0", "12.5", "8.5", "8.5", "0"),
    "U-LN": ("17.0", "26.0", "12.5", "12.5", "8.5", "8.5", "-0.5"),
    "U-BL": ("17.0", "25.5", "12.5", "12.5", "8.0", "8.5", "0"),
}
GRADES = [[90, "Xuất sắc"], [80, "Tốt"], [65, "Đạt"], [0, "Chưa đạt"]]

# Drill programme of Kim Bảng, 2022-H2 [DEMO]: shared milestones, then four commune drills.
DRILL_SHARED = [
    ("quyet_dinh", "QĐ thành lập Ban Chỉ đạo diễn tập", date(2022, 7, 15), None, None),
    ("ke_hoach", "Ban hành kế hoạch diễn tập", date(2022, 7, 20), None, None),
    ("khao_sat", "Khảo sát thực địa", date(2022, 7, 25), date(2022, 7, 29), None),
    ("tap_huan", "Tập huấn khung diễn tập", date(2022, 8, 3), date(2022, 8, 4), None),
    ("van_kien", "Soạn thảo văn kiện (hoàn thành)", date(2022, 8, 19), None, None),
    ("tong_ket", "Tổng kết diễn tập năm 2022", date(2022, 10, 20), None, None),
]
# drill key, commune GSO code, kiểm tra-duyệt day (thực hành the next two days, rút kinh nghiệm chiều day 2)
DRILLS = [
    ("D1", "13429", date(2022, 8, 23)),
    ("D2", "13438", date(2022, 9, 6)),
    ("D3", "13402", date(2022, 9, 20)),
    ("D4", "13405", date(2022, 10, 4)),
]


class _Loader:
    def __init__(self, session: AsyncSession, tz: ZoneInfo) -> None:
        self.session = session
        self.tz = tz
        self.added = 0
        # The demo rows were "entered" before the scenario starts, so no reminder is withheld
        # as "created after it was due" when time is simulated in 2022.
        self.entered_at = datetime.combine(DEMO_ENTERED_ON, time(8), tz)

    def stamp(self, row: object) -> object:
        for column in ("created_at", "updated_at"):
            if hasattr(row, column) and getattr(row, column) is None:
                setattr(row, column, self.entered_at)
        return row

    async def get_or_add(self, model: type, key: str, **fields: object):
        existing = await self.session.scalar(select(model).where(model.key == key))
        if existing is not None:
            return existing
        row = self.stamp(model(key=key, **fields))
        self.session.add(row)
        await self.session.flush()
        self.added += 1
        return row

    def at(self, day: date, clock: time = time(0)) -> datetime:
        return datetime.combine(day, clock, self.tz)


async def load_communes(loader: _Loader, districts: dict[str, Unit]) -> dict[str, Unit]:
    data = json.loads(COMMUNES_FILE.read_text("utf-8"))
    communes: dict[str, Unit] = {}
    for district in data["districts"]:
        parent = districts.get(district["code"])
        for ward in district["wards"]:
            area_type = AREA_TYPES[ward["type"]]
            short = ward["name"].removeprefix(ward["type"]).strip()
            communes[ward["code"]] = await loader.get_or_add(
                Unit,
                f"gso:{ward['code']}",
                name=ward["name"],
                short_name=short,
                kind="commune",
                area_type=area_type,
                gso_code=ward["code"],
                parent_id=parent.id if parent else None,
                aliases=[f"{ward['type']} {short}"],
            )
    return communes


async def load_demo(session: AsyncSession, tz: ZoneInfo) -> int:
    """Load the demo cluster; return how many rows were added (0 when already loaded)."""
    loader = _Loader(session, tz)
    units: dict[str, Unit] = {}
    for key, name, short, kind, code, aliases in UNITS:
        units[key] = await loader.get_or_add(
            Unit,
            key,
            name=name,
            short_name=short,
            kind=kind,
            gso_code=code,
            aliases=aliases,
            area_type={"province_command": None, "regiment": None}.get(kind, "huyen"),
        )
    for key in ("U-PL", "U-DT"):
        units[key].area_type = {"U-PL": "thanh_pho", "U-DT": "thi_xa"}[key]
    for key, unit in units.items():
        if key != "U-HN" and unit.parent_id is None:
            unit.parent_id = units["U-HN"].id
    districts = {u.gso_code: u for u in units.values() if u.kind == "district_command" and u.gso_code}
    communes = await load_communes(loader, districts)

    cluster = await loader.get_or_add(
        Cluster,
        "CTD2-2022",
        name="Cụm thi đua số 2",
        number=2,
        year=YEAR,
        theme="Đoàn kết, mẫu mực, kỷ cương, linh hoạt, sáng tạo, quyết thắng",
        superior_unit_id=units["U-HN"].id,
        grade_thresholds=GRADES,
        illustrative=True,
    )
    for sort, (key, role) in enumerate(CLUSTER_ORDER):
        exists = await session.scalar(
            select(ClusterMember).where(ClusterMember.cluster_id == cluster.id, ClusterMember.unit_id == units[key].id)
        )
        if exists is None:
            session.add(ClusterMember(cluster_id=cluster.id, unit_id=units[key].id, role=role, sort=sort))
            loader.added += 1

    people: dict[str, Member] = {}
    for key, rank, name, position, short in KB_PEOPLE:
        people[key] = await loader.get_or_add(
            Member,
            key,
            full_name=name,
            rank=rank,
            position=position,
            position_short=short,
            unit_id=units["U-KB"].id,
        )
    await _load_roster(loader, units["U-KB"], people)

    directives = {}
    for key, kind, number, code, issuer, title, verify in DIRECTIVES:
        directives[key] = await loader.get_or_add(
            Directive,
            key,
            kind=kind,
            number=number,
            code=code,
            issuer=issuer,
            title=title,
            needs_verification=verify,
        )
    conference = await session.scalar(select(Event).where(Event.key == "C-2022-H1"))
    if conference is None:
        conference = Event(
            key="C-2022-H1",
            cluster_id=cluster.id,
            kind="conference",
            subkind="so_ket_6t",
            title="Sơ kết phong trào Thi đua Quyết thắng 6 tháng đầu năm 2022",
            summary=CONFERENCE_SUMMARY,
            starts_at=loader.at(date(2022, 6, 23), time(14)),
            ends_at=loader.at(date(2022, 6, 23), time(17)),
            session="chieu",
            location="Ban CHQS huyện Kim Bảng",
            host_unit_id=units["U-KB"].id,
            cluster_wide=True,
            units=[units[k] for k, _ in CLUSTER_ORDER],
            directives=list(directives.values()),
        )
        session.add(loader.stamp(conference))
        loader.added += 1
    await loader.get_or_add(
        Event,
        "I-2022-Q3",
        cluster_id=cluster.id,
        kind="inspection",
        subkind="kiem_tra_cheo",
        title="Kiểm tra chéo, chấm điểm thi đua quý III/2022",
        starts_at=loader.at(date(2022, 9, 26)),
        ends_at=loader.at(date(2022, 9, 30), time(23, 59)),
        all_day=True,
        cluster_wide=True,
    )
    await loader.get_or_add(
        Event,
        "C-2022-Y",
        cluster_id=cluster.id,
        kind="conference",
        subkind="tong_ket",
        title="Tổng kết phong trào Thi đua Quyết thắng năm 2022, suy tôn đơn vị dẫn đầu",
        starts_at=loader.at(date(2022, 11, 24), time(8)),
        ends_at=loader.at(date(2022, 11, 24), time(11, 30)),
        session="sang",
        location="Ban CHQS huyện Kim Bảng",
        host_unit_id=units["U-KB"].id,
        cluster_wide=True,
    )
    for key, name, start, end in READINESS:
        await loader.get_or_add(
            ReadinessPeriod, key, name=name, starts_on=start, ends_on=end, level="tang_cuong", illustrative=True
        )
    await _load_tasks(loader, cluster, units, conference)
    await _load_drills(loader, units["U-KB"], communes)
    await _load_scores(loader, cluster, units)
    await _add_news(session, loader)
    # The demo is June 2022: this database answers as of that day until told otherwise (--now).
    if await app_state.get(session, app_state.DEMO_CLOCK) is None:
        await app_state.put(session, app_state.DEMO_CLOCK, DEMO_NOW)
    await session.flush()
    return loader.added


async def _add_news(session: AsyncSession, loader: _Loader) -> None:
    guid = "demo:cum2-soket-2022"
    if await session.scalar(select(NewsItem).where(NewsItem.guid == guid)):
        return
    session.add(
        NewsItem(
            guid=guid,
            title="Cụm thi đua số 2 tổ chức sơ kết phong trào thi đua quyết thắng 6 tháng đầu năm 2022",
            summary=(
                "Chiều 23/6/2022, tại Ban CHQS huyện Kim Bảng, Cụm thi đua số 2 gồm Ban CHQS 6 huyện, thị xã, "
                "thành phố và Trung đoàn 151 sơ kết phong trào thi đua Quyết thắng 6 tháng đầu năm 2022. "
                "(Nguồn: Đài Kim Bảng)"
            ),
            published_at=loader.at(date(2022, 6, 23), time(18)),
        )
    )
    loader.added += 1


async def _load_roster(loader: _Loader, unit: Unit, people: dict[str, Member]) -> None:
    handover = time(7, 30)
    for day_number, commander, officer, team, note in KB_ROSTER:
        day = date(YEAR, 6, day_number)
        start = loader.at(day, handover)
        end = loader.at(day + timedelta(days=1), handover)
        for role, who in (("truc_chi_huy", commander), ("truc_ban", officer), ("truc_chien", team)):
            member = people.get(who)
            await loader.get_or_add(
                DutyShift,
                f"DS-KB-{day.isoformat()}-{role}",
                unit_id=unit.id,
                duty_date=day,
                role=role,
                member_id=member.id if member else None,
                person_label=None if member else who,
                starts_at=start,
                ends_at=end,
                note=note if role == "truc_chi_huy" else None,
            )


async def _load_tasks(loader: _Loader, cluster: Cluster, units: dict[str, Unit], source: Event) -> None:
    members = [units[k] for k, _ in CLUSTER_ORDER]
    for code, category, title, due, progress in TASKS:
        existing = await loader.session.scalar(select(Task).where(Task.key == f"T-2022-{code}"))
        if existing is not None:
            continue
        task = Task(
            key=f"T-2022-{code}",
            cluster_id=cluster.id,
            code=code,
            category=category,
            title=title,
            period="2022-H2",
            starts_on=date(2022, 7, 1),
            due_on=due,
            source_event_id=source.id,
        )
        assigned = [u for u in members if not (code == "FT1" and u.kind == "regiment")]
        for unit in assigned:
            status, percent, report = "not_started", 0, None
            if isinstance(progress, str):
                status = progress
            elif isinstance(progress, dict) and unit.key in progress:
                status, percent, report = progress[unit.key]
            task.assignments.append(TaskAssignment(unit_id=unit.id, status=status, progress=percent, report=report))
        loader.session.add(loader.stamp(task))
        loader.added += 1


async def _load_drills(loader: _Loader, district: Unit, communes: dict[str, Unit]) -> None:
    programme = await loader.get_or_add(
        DrillPlan,
        "DP-KB-2022",
        organising_unit_id=district.id,
        year=YEAR,
        kind="dtcdpt_xa",
        title="Kế hoạch diễn tập chiến đấu phòng thủ cấp xã năm 2022 — huyện Kim Bảng",
    )
    for step, title, start, end, session in DRILL_SHARED:
        await _milestone(loader, programme, district, f"DM-KB-2022-{step}", step, title, start, end, session)
    for key, code, review_day in DRILLS:
        area = communes[code]
        plan = await loader.get_or_add(
            DrillPlan,
            f"DP-KB-2022-{key}",
            organising_unit_id=district.id,
            area_unit_id=area.id,
            parent_id=programme.id,
            year=YEAR,
            kind="dtcdpt_xa",
            title=f"Diễn tập chiến đấu phòng thủ {area.name}",
        )
        day1, day2 = review_day + timedelta(days=1), review_day + timedelta(days=2)
        steps = [
            ("kiem_tra_duyet", "Kiểm tra, duyệt", review_day, None, None),
            ("thuc_hanh", "Thực hành (3 giai đoạn)", day1, day2, None),
            ("rut_kinh_nghiem", "Rút kinh nghiệm", day2, None, "chieu"),
        ]
        for step, title, start, end, session in steps:
            await _milestone(loader, plan, area, f"DM-KB-2022-{key}-{step}", step, title, start, end, session)


async def _milestone(
    loader: _Loader,
    plan: DrillPlan,
    unit: Unit,
    key: str,
    step: str,
    title: str,
    start: date,
    end: date | None,
    session: str | None,
) -> None:
    await loader.get_or_add(
        Event,
        key,
        kind="drill",
        subkind=step,
        title=title,
        drill_plan_id=plan.id,
        all_day=True,
        session=session,
        starts_at=loader.at(start),
        ends_at=loader.at(end or start, time(23, 59)),
        host_unit_id=plan.organising_unit_id,
        units=[unit],
    )


async def _load_scores(loader: _Loader, cluster: Cluster, units: dict[str, Unit]) -> None:
    session = loader.session
    criteria = []
    for sort, (code, name, maximum) in enumerate(CRITERIA):
        criteria.append(await _criterion(session, cluster, code, name, Decimal(maximum), Decimal(0), "normal", sort))
    criteria.append(
        await _criterion(session, cluster, "TT", "Điểm thưởng / điểm trừ", Decimal(5), Decimal(-5), "adjustment", 99)
    )
    period = await session.scalar(
        select(ReviewPeriod).where(
            ReviewPeriod.cluster_id == cluster.id,
            ReviewPeriod.year == YEAR,
            ReviewPeriod.kind == "quarter",
            ReviewPeriod.number == 2,
        )
    )
    if period is not None:
        return
    period = ReviewPeriod(
        cluster_id=cluster.id,
        year=YEAR,
        kind="quarter",
        number=2,
        starts_on=date(2022, 4, 1),
        ends_on=date(2022, 6, 30),
        inspection_from=date(2022, 6, 13),
        inspection_to=date(2022, 6, 17),
        status="published",
        published_at=loader.at(date(2022, 6, 20), time(16)),
        illustrative=True,
    )
    session.add(period)
    await session.flush()
    for key, points in Q2_SCORES.items():
        for criterion, value in zip(criteria, points, strict=True):
            session.add(
                Score(period_id=period.id, unit_id=units[key].id, criterion_id=criterion.id, points=Decimal(value))
            )
    await session.flush()
    await compute_results(session, period)
    loader.added += 1


async def _criterion(
    session: AsyncSession,
    cluster: Cluster,
    code: str,
    name: str,
    maximum: Decimal,
    minimum: Decimal,
    kind: str,
    sort: int,
) -> Criterion:
    existing = await session.scalar(select(Criterion).where(Criterion.cluster_id == cluster.id, Criterion.code == code))
    if existing is not None:
        return existing
    criterion = Criterion(
        cluster_id=cluster.id, code=code, name=name, max_points=maximum, min_points=minimum, kind=kind, sort=sort
    )
    session.add(criterion)
    await session.flush()
    return criterion
