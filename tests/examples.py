"""DOMAIN.md §9: the example questions and what a correct answer must say.

"Today" is Thứ Tư 22/06/2022, 10h00; the asker is an officer of Ban CHQS huyện Kim Bảng. The same
table drives the console tests and the Telegram tests, so both channels give the same answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NOW = "2022-06-22 10:00"
UNIT = "Kim Bảng"


@dataclass(frozen=True)
class Example:
    question: str
    expected: list[str]
    # Substrings that must appear in this order (ranking tables, rosters).
    in_order: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)


EXAMPLES = [
    Example(
        "lịch trực tuần này",
        [
            "Lịch trực SSCĐ — Ban CHQS huyện Kim Bảng",
            "Tuần này 20–26/06/2022",
            "Thứ Tư 22/06 ◀ hôm nay",
            "Trực chỉ huy Thượng tá Nguyễn Văn An (CHT)",
            "trực ban Thiếu tá Vũ Thành Long",
            "trực chiến Tổ 1",
            "Ghi chú: CHT/CTV dự hội nghị cụm 14h00",
        ],
        in_order=[
            "Thứ Hai 20/06",
            "Thứ Ba 21/06",
            "Thứ Tư 22/06",
            "Thứ Năm 23/06",
            "Thứ Sáu 24/06",
            "Thứ Bảy 25/06",
            "Chủ nhật 26/06",
        ],
    ),
    Example(
        "hôm nay ai trực chỉ huy?",
        [
            "Thứ Tư 22/06/2022",
            "Trực chỉ huy: Trung tá Lê Quang Cường (Phó CHT–TMT)",
            "Trực ban: Thượng úy Ngô Văn Phúc",
            "Ca 07h30 22/06 → 07h30 23/06",
        ],
        absent=["Phạm Minh Dũng"],
    ),
    Example(
        "mai ai trực?",
        [
            "Thứ Năm 23/06/2022",
            "Trực chỉ huy: Trung tá Phạm Minh Dũng (Phó CHT)",
            "Trực ban: Đại úy Đinh Văn Quang",
            "Trực chiến: Tổ 2",
            "CHT/CTV dự hội nghị cụm 14h00",
            "Sơ kết phong trào Thi đua Quyết thắng 6 tháng đầu năm 2022 — chiều Thứ Năm 23/06/2022 (14h00)",
        ],
    ),
    Example(
        "kết quả chấm điểm quý 2",
        ["Kết quả chấm điểm thi đua quý II/2022", "số liệu minh họa", "Cụm thi đua số 2"],
        in_order=[
            "1. Kim Bảng: 92,5 điểm — Xuất sắc",
            "2. Thanh Liêm: 90,0 điểm — Xuất sắc",
            "3. Trung đoàn 151: 88,5 điểm — Tốt",
            "4. Phủ Lý: 87,5 điểm — Tốt",
            "5. Duy Tiên: 86,0 điểm — Tốt",
            "6. Lý Nhân: 84,5 điểm — Tốt",
            "7. Bình Lục: 84,0 điểm — Tốt",
        ],
    ),
    Example(
        "Bình Lục quý II được bao nhiêu điểm?",
        [
            "Ban CHQS huyện Bình Lục — quý II/2022",
            "84,0 điểm, xếp thứ 7/7, loại Tốt",
            "số liệu minh họa",
            "G2 Huấn luyện, SSCĐ, diễn tập: 25,5/30,0",
        ],
    ),
    Example(
        "nhiệm vụ 6 tháng cuối năm",
        [
            "Nhiệm vụ trọng tâm 6 tháng cuối năm 2022 — Kim Bảng",
            "Đã dự thảo kế hoạch diễn tập 4 xã, thị trấn",
            "Trạng thái: đang thực hiện (10%)",
        ],
        in_order=[
            "FT5. Kiểm tra chéo quý III",
            "FT1. Chuẩn bị và tổ chức diễn tập chiến đấu phòng thủ cấp xã",
            "hạn 20/10/2022",
            "FT6. Tổng kết năm",
            "hạn 24/11/2022",
            "FT2. Duy trì nghiêm chế độ trực",
            "FT3. Tăng cường sự lãnh đạo của Đảng",
            "FT4. Bảo đảm hậu cần, tài chính cho huấn luyện",
            "hạn 31/12/2022",
        ],
    ),
    Example(
        "lịch diễn tập xã Ba Sao",
        [
            "Lưu ý: Ba Sao là thị trấn (Thị trấn Ba Sao), không phải xã.",
            "Diễn tập chiến đấu phòng thủ TT Ba Sao",
            "Kiểm tra, duyệt: Thứ Ba 23/08/2022",
            "Thực hành (3 giai đoạn): Thứ Tư–Thứ Năm 24–25/08/2022",
            "Rút kinh nghiệm: chiều Thứ Năm 25/08/2022",
        ],
        absent=["Thanh Sơn"],
    ),
    Example(
        "năm nay huyện diễn tập mấy xã?",
        ["4/18 đơn vị: TT Ba Sao, Thanh Sơn, Nhật Tân, Đồng Hóa; tổng kết 20/10/2022."],
    ),
    Example(
        "hội nghị sơ kết 6 tháng ở đâu, khi nào?",
        [
            "Sơ kết phong trào Thi đua Quyết thắng 6 tháng đầu năm 2022",
            "Chiều Thứ Năm 23/06/2022 (14h00), tại Ban CHQS huyện Kim Bảng",
            "Cụm thi đua số 2 gồm 7 đơn vị",
        ],
    ),
    Example(
        "cụm 2 gồm những đơn vị nào? ai là cụm trưởng?",
        [
            "Cụm thi đua số 2 năm 2022 gồm 7 đơn vị",
            "Cụm trưởng: Ban CHQS huyện Kim Bảng; cụm phó: Ban CHQS huyện Thanh Liêm",
        ],
        in_order=[
            "Ban CHQS huyện Kim Bảng",
            "Ban CHQS huyện Thanh Liêm",
            "Ban CHQS TP Phủ Lý",
            "Ban CHQS TX Duy Tiên",
            "Ban CHQS huyện Bình Lục",
            "Ban CHQS huyện Lý Nhân",
            "Trung đoàn 151",
        ],
    ),
    Example(
        "đợt tăng cường trực 2/9 từ ngày nào?",
        ["Đợt tăng cường trực Quốc khánh 2/9: 31/08–05/09/2022", "Bắt đầu Thứ Tư 31/08/2022"],
    ),
    Example(
        "chỉ thị 87 là gì?",
        [
            "Chỉ thị 87-CT/QUTW của Thường vụ Quân ủy Trung ương (về học tập và làm theo tư tưởng, đạo đức, "
            "phong cách Hồ Chí Minh trong Quân đội)",
            "cần kiểm chứng",
        ],
        absent=["05-CT/TW"],
    ),
]


def check(example: Example, answer: str) -> None:
    """Assert that ``answer`` says what the example needs; the message shows the whole answer."""
    for text in example.expected:
        assert text in answer, f"{example.question!r}: missing {text!r} in:\n{answer}"
    position = 0
    for text in example.in_order:
        found = answer.find(text, position)
        assert found >= 0, f"{example.question!r}: {text!r} missing or out of order in:\n{answer}"
        position = found + len(text)
    for text in example.absent:
        assert text not in answer, f"{example.question!r}: unexpected {text!r} in:\n{answer}"
