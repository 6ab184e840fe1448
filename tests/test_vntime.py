"""Tests for bot.vntime: Vietnamese dates, times, ranges and review periods."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.vntime import (
    WEEKDAYS,
    DateParseError,
    PeriodSpec,
    combine_local,
    fmt_date,
    fmt_date_range,
    fmt_day_month,
    fmt_points,
    fmt_time,
    fmt_weekday_date,
    parse_date,
    parse_date_range,
    parse_datetime,
    parse_period,
    parse_time,
    roman,
    session_name,
    week_bounds,
    weekday_name,
)

TODAY = date(2022, 6, 22)  # a Wednesday
MON, TUE, WED, THU, FRI, SAT, SUN = (date(2022, 6, 20) + timedelta(days=i) for i in range(7))
NEXT_MON = date(2022, 6, 27)


def test_fixture_is_a_wednesday() -> None:
    assert TODAY.weekday() == 2
    assert WED == TODAY


# ---------------------------------------------------------------------------------------------------------
# formatting
# ---------------------------------------------------------------------------------------------------------


def test_weekdays_tuple_matches_python_weekday() -> None:
    assert WEEKDAYS == ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")
    for offset, name in enumerate(WEEKDAYS):
        assert weekday_name(MON + timedelta(days=offset)) == name


def test_weekday_name() -> None:
    assert weekday_name(TODAY) == "Thứ Tư"
    assert weekday_name(SUN) == "Chủ nhật"


def test_fmt_date_zero_pads() -> None:
    assert fmt_date(TODAY) == "22/06/2022"
    assert fmt_date(date(2023, 1, 5)) == "05/01/2023"


def test_fmt_day_month() -> None:
    assert fmt_day_month(TODAY) == "22/06"
    assert fmt_day_month(date(2022, 9, 2)) == "02/09"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(time(14, 0), "14h00"), (time(7, 30), "07h30"), (time(0, 5), "00h05"), (time(23, 59, 59), "23h59")],
)
def test_fmt_time(value: time, expected: str) -> None:
    assert fmt_time(value) == expected


def test_fmt_weekday_date() -> None:
    assert fmt_weekday_date(date(2022, 6, 23)) == "Thứ Năm 23/06/2022"
    assert fmt_weekday_date(TODAY) == "Thứ Tư 22/06/2022"
    assert fmt_weekday_date(SUN) == "Chủ nhật 26/06/2022"


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2022, 6, 22), date(2022, 6, 22), "22/06/2022"),
        (date(2022, 8, 24), date(2022, 8, 25), "24–25/08/2022"),
        (date(2022, 8, 31), date(2022, 9, 5), "31/08–05/09/2022"),
        (date(2022, 12, 30), date(2023, 1, 2), "30/12/2022–02/01/2023"),
    ],
)
def test_fmt_date_range(start: date, end: date, expected: str) -> None:
    assert fmt_date_range(start, end) == expected


def test_fmt_date_range_uses_en_dash() -> None:
    text = fmt_date_range(date(2022, 8, 24), date(2022, 8, 25))
    assert "\u2013" in text
    assert "-" not in text


def test_fmt_date_range_rejects_reversed() -> None:
    with pytest.raises(ValueError, match="before"):
        fmt_date_range(date(2022, 6, 26), date(2022, 6, 20))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (84, "84,0"),
        (Decimal("84.0"), "84,0"),
        (Decimal("92.50"), "92,5"),
        (84.25, "84,25"),
        (-0.5, "-0,5"),
        (0, "0,0"),
        (Decimal("-0.00"), "0,0"),
        (Decimal("100"), "100,0"),
        (Decimal("1E+2"), "100,0"),
        (0.1 + 0.2, "0,30000000000000004"),
        (97.5, "97,5"),
        (Decimal("0.125"), "0,125"),
        (-12, "-12,0"),
    ],
)
def test_fmt_points(value: Decimal | float | int, expected: str) -> None:
    assert fmt_points(value) == expected


def test_fmt_points_float_has_no_binary_noise() -> None:
    assert fmt_points(84.1) == "84,1"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), Decimal("NaN")])
def test_fmt_points_rejects_non_finite(bad: float | Decimal) -> None:
    with pytest.raises(ValueError):
        fmt_points(bad)


def test_fmt_points_rejects_bool() -> None:
    with pytest.raises(TypeError):
        fmt_points(True)


@pytest.mark.parametrize(
    ("session", "expected"),
    [("sang", "sáng"), ("chieu", "chiều"), ("toi", "tối"), (None, ""), ("", ""), ("Chiều", "chiều")],
)
def test_session_name(session: str | None, expected: str) -> None:
    assert session_name(session) == expected


def test_session_name_unknown() -> None:
    with pytest.raises(ValueError):
        session_name("trua")


@pytest.mark.parametrize(("n", "expected"), [(1, "I"), (2, "II"), (3, "III"), (4, "IV"), (9, "IX"), (2022, "MMXXII")])
def test_roman(n: int, expected: str) -> None:
    assert roman(n) == expected


def test_roman_rejects_zero() -> None:
    with pytest.raises(ValueError):
        roman(0)


def test_combine_local_is_aware() -> None:
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    dt = combine_local(date(2022, 6, 23), time(14, 0), tz)
    assert dt == datetime(2022, 6, 23, 14, 0, tzinfo=tz)
    assert dt.utcoffset() == timedelta(hours=7)
    assert dt.tzinfo is tz


def test_combine_local_replaces_existing_tzinfo() -> None:
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    dt = combine_local(date(2022, 6, 23), time(7, 30, tzinfo=ZoneInfo("UTC")), tz)
    assert (dt.hour, dt.minute, dt.tzinfo) == (7, 30, tz)


@pytest.mark.parametrize("day", [MON, TUE, WED, THU, FRI, SAT, SUN])
def test_week_bounds_whole_week(day: date) -> None:
    assert week_bounds(day) == (date(2022, 6, 20), date(2022, 6, 26))


def test_week_bounds_sunday_belongs_to_week_before_it() -> None:
    assert week_bounds(date(2022, 6, 26)) == (date(2022, 6, 20), date(2022, 6, 26))
    assert week_bounds(date(2022, 6, 27)) == (date(2022, 6, 27), date(2022, 7, 3))


def test_week_bounds_across_new_year() -> None:
    assert week_bounds(date(2023, 1, 1)) == (date(2022, 12, 26), date(2023, 1, 1))


# ---------------------------------------------------------------------------------------------------------
# parse_time
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14h", time(14, 0)),
        ("14h00", time(14, 0)),
        ("14h30", time(14, 30)),
        ("14H30", time(14, 30)),
        ("7h30", time(7, 30)),
        ("07h30", time(7, 30)),
        ("14 giờ", time(14, 0)),
        ("14 gio", time(14, 0)),
        ("14 GIỜ", time(14, 0)),
        ("14 giờ 30", time(14, 30)),
        ("14 giờ 30 phút", time(14, 30)),
        ("14 gio 30 phut", time(14, 30)),
        ("14g", time(14, 0)),
        ("14g30", time(14, 30)),
        ("14:30", time(14, 30)),
        ("14:30:00", time(14, 30)),
        ("07:05:09", time(7, 5, 9)),
        ("0h", time(0, 0)),
        ("23h59", time(23, 59)),
        ("họp lúc 7h30 sáng", time(7, 30)),
        ("14h00 23/6/2022", time(14, 0)),
        ("23/06/2022 lúc 7h30", time(7, 30)),
        ("14 giờ 23/6", time(14, 0)),
        ("14 giờ thứ Năm tuần sau", time(14, 0)),
        ("giao ban 8h-10h", time(8, 0)),
        ("14h30p", time(14, 30)),
    ],
)
def test_parse_time_accepts(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "23/6",
        "23/06/2022",
        "23-6-2022",
        "23.6.2022",
        "quý 2",
        "trung đoàn 151",
        "151",
        "cụm 2",
        "Chỉ thị 87",
        "thứ 7",
        "t7",
        "điểm 92.5",
        "trực 24/24",
        "trực 24/24h",
        "trong 24h qua",
        "suốt 48 giờ",
        "mạng 4G",
        "hôm nay ai trực chỉ huy?",
    ],
)
def test_parse_time_none(text: str) -> None:
    assert parse_time(text) is None


@pytest.mark.parametrize(("text", "shown"), [("25h", "25h"), ("14h75", "14h75"), ("24:10", "24:10"), ("7:60", "7:60")])
def test_parse_time_impossible(text: str, shown: str) -> None:
    with pytest.raises(DateParseError) as exc:
        parse_time(text)
    message = str(exc.value)
    assert f'"{shown}"' in message
    assert "không hợp lệ" in message
    assert "14h00" in message  # tells how to write it


def test_parse_time_error_message_exact() -> None:
    expected = r'^Giờ "25h" không hợp lệ \(giờ chỉ từ 0 đến 23\)\. Viết giờ dạng'
    with pytest.raises(DateParseError, match=expected):
        parse_time("họp lúc 25h")


def test_date_parse_error_is_value_error() -> None:
    assert issubclass(DateParseError, ValueError)


# ---------------------------------------------------------------------------------------------------------
# parse_date: explicit dates
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "23/6",
        "23/06",
        "23/6/2022",
        "23/06/2022",
        "23/06/22",
        "23-6",
        "23-6-2022",
        "23.6.2022",
        "2022-06-23",
        "ngày 23 tháng 6",
        "ngay 23 thang 6",
        "NGÀY 23 THÁNG 6",
        "ngày 23 tháng 6 năm 2022",
        "23 tháng 6 năm 2022",
        "ngày 23 tháng 06",
        "ngày 23/6",
        "lịch trực ngày 23/6 thế nào?",
        "Thứ Năm 23/06/2022",
    ],
)
def test_parse_date_explicit(text: str) -> None:
    assert parse_date(text, TODAY) == date(2022, 6, 23)


def test_parse_date_two_digit_year_is_2000s() -> None:
    assert parse_date("05/01/23", TODAY) == date(2023, 1, 5)


def test_parse_date_explicit_year_overrides_inference() -> None:
    assert parse_date("23/6/2021", TODAY) == date(2021, 6, 23)
    assert parse_date("ngày 1 tháng 1 năm 2030", TODAY) == date(2030, 1, 1)


def test_parse_date_mung() -> None:
    assert parse_date("mùng 2 tháng 9", TODAY) == date(2022, 9, 2)
    assert parse_date("mồng 2/9", TODAY) == date(2022, 9, 2)


def test_parse_date_bare_day_of_month() -> None:
    assert parse_date("lịch trực ngày 25", TODAY) == date(2022, 6, 25)
    assert parse_date("ngày 20", TODAY) == date(2022, 6, 20)
    assert parse_date("ngày 20", TODAY, prefer="future") == date(2022, 7, 20)


def test_parse_date_first_of_two_dates() -> None:
    assert parse_date("từ 20/6 đến 26/6", TODAY) == date(2022, 6, 20)


def test_parse_date_range_text_gives_start() -> None:
    assert parse_date("diễn tập 24–25/8/2022", TODAY) == date(2022, 8, 24)
    assert parse_date("20-26/6", TODAY) == date(2022, 6, 20)


def test_parse_date_explicit_beats_relative_and_weekday() -> None:
    assert parse_date("mai, tức thứ năm 30/6", TODAY) == date(2022, 6, 30)


# ---------------------------------------------------------------------------------------------------------
# parse_date: year inference
# ---------------------------------------------------------------------------------------------------------


def test_missing_year_nearest_same_year() -> None:
    assert parse_date("23/6", TODAY) == date(2022, 6, 23)
    assert parse_date("21/6", TODAY) == date(2022, 6, 21)  # yesterday, not next year


def test_missing_year_nearest_across_new_year_forward() -> None:
    assert parse_date("5/1", date(2022, 12, 28)) == date(2023, 1, 5)


def test_missing_year_nearest_across_new_year_backward() -> None:
    assert parse_date("28/12", date(2023, 1, 3)) == date(2022, 12, 28)


def test_missing_year_future_never_in_past() -> None:
    assert parse_date("21/6", TODAY, prefer="future") == date(2023, 6, 21)
    assert parse_date("22/6", TODAY, prefer="future") == TODAY
    assert parse_date("5/1", TODAY, prefer="future") == date(2023, 1, 5)


def test_missing_year_nearest_far_date() -> None:
    # 2/9 is 72 days ahead in 2022 and 293 days back in 2021
    assert parse_date("2/9", TODAY) == date(2022, 9, 2)
    # 1/2 is 141 days back in 2022 but 224 days ahead in 2023
    assert parse_date("1/2", TODAY) == date(2022, 2, 1)


def test_missing_year_leap_day() -> None:
    assert parse_date("29/2", date(2024, 1, 10)) == date(2024, 2, 29)
    with pytest.raises(DateParseError, match="29/2"):
        parse_date("29/2", TODAY)


def test_parse_date_bad_prefer() -> None:
    with pytest.raises(ValueError, match="prefer"):
        parse_date("23/6", TODAY, prefer="past")


# ---------------------------------------------------------------------------------------------------------
# parse_date: relative words
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hôm nay", TODAY),
        ("hom nay", TODAY),
        ("HÔM NAY", TODAY),
        ("nay", TODAY),
        ("Nay ai trực?", TODAY),
        ("nay ai truc", TODAY),
        ("ai trực nay?", TODAY),
        ("sáng nay", TODAY),
        ("chiều nay", TODAY),
        ("tối nay", TODAY),
        ("ai trực tối nay?", TODAY),
        ("bữa nay", TODAY),
        ("mai", THU),
        ("Mai", THU),
        ("ngày mai", THU),
        ("ngay mai", THU),
        ("sáng mai", THU),
        ("tối mai", THU),
        ("chiều mai họp", THU),
        ("mai ai truc", THU),
        ("Mai ai trực ban?", THU),
        ("ngày kia", FRI),
        ("ngay kia", FRI),
        ("mốt", FRI),
        ("ngày mốt", FRI),
        ("ngay mot", FRI),
        ("mốt ai trực", FRI),
        ("hôm qua", TUE),
        ("hom qua", TUE),
        ("tối qua", TUE),
        ("hôm kia", MON),
        ("hôm nay ai trực chỉ huy?", TODAY),
    ],
)
def test_parse_date_relative(text: str, expected: date) -> None:
    assert parse_date(text, TODAY) == expected


def test_relative_ignores_prefer() -> None:
    assert parse_date("hôm qua", TODAY, prefer="future") == TUE


def test_relative_across_month_and_year_end() -> None:
    assert parse_date("mai", date(2022, 12, 31)) == date(2023, 1, 1)
    assert parse_date("hôm qua", date(2022, 3, 1)) == date(2022, 2, 28)


@pytest.mark.parametrize(
    "text",
    [
        "tuần này",
        "lịch trực tuần này",
        "tuan nay",
        "năm nay",
        "nam nay",
        "tháng này",
        "quý này",
        "hiện nay",
        "đơn vị này",
        "từ trước đến nay",
        "tới nay",
        "ngày nay",
        "mãi mãi",
        "mái nhà",
        "đồng chí Mai trực ban",
        "dong chi mai",
        "quận Hoàng Mai",
        "một đồng chí",
        "mot dong chi",
        "tôi qua đơn vị",
        "thông qua",
        "qua",
    ],
)
def test_parse_date_relative_false_friends(text: str) -> None:
    assert parse_date(text, TODAY) is None


# ---------------------------------------------------------------------------------------------------------
# parse_date: weekdays
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("thứ hai", MON),
        ("thứ ba", TUE),
        ("thứ tư", WED),
        ("thứ năm", THU),
        ("thứ sáu", FRI),
        ("thứ bảy", SAT),
        ("thứ bẩy", SAT),
        ("chủ nhật", SUN),
        ("Chủ Nhật", SUN),
        ("chu nhat", SUN),
        ("cn", SUN),
        ("CN", SUN),
        ("thu hai", MON),
        ("thu nam", THU),
        ("thu sau", FRI),
        ("thu bay", SAT),
        ("thứ 2", MON),
        ("thứ 3", TUE),
        ("thứ 4", WED),
        ("thứ 5", THU),
        ("thứ 6", FRI),
        ("thứ 7", SAT),
        ("thu 5", THU),
        ("thứ5", THU),
        ("t2", MON),
        ("t3", TUE),
        ("t4", WED),
        ("t5", THU),
        ("T6", FRI),
        ("t7", SAT),
        ("Thứ Năm ai trực?", THU),
    ],
)
def test_parse_date_weekday_nearest_is_current_week(text: str, expected: date) -> None:
    assert parse_date(text, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("thứ hai", NEXT_MON),
        ("thứ ba", date(2022, 6, 28)),
        ("thứ tư", TODAY),  # on or after today
        ("thứ năm", THU),
        ("chủ nhật", SUN),
        ("t2", NEXT_MON),
    ],
)
def test_parse_date_weekday_future(text: str, expected: date) -> None:
    assert parse_date(text, TODAY, prefer="future") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("thứ năm tuần sau", date(2022, 6, 30)),
        ("thu nam tuan sau", date(2022, 6, 30)),
        ("thứ 5 tuần tới", date(2022, 6, 30)),
        ("thứ hai tuần sau", NEXT_MON),
        ("chủ nhật tuần sau", date(2022, 7, 3)),
        ("thứ hai tuần trước", date(2022, 6, 13)),
        ("t6 tuần trước", date(2022, 6, 17)),
        ("chủ nhật tuần này", SUN),
        ("thứ hai tuần này", MON),
        ("tuần sau thứ 2", NEXT_MON),
        ("thứ năm này", THU),
        ("Thu 5 tuần sau có lịch gì?", date(2022, 6, 30)),
    ],
)
def test_parse_date_weekday_with_week(text: str, expected: date) -> None:
    assert parse_date(text, TODAY) == expected
    assert parse_date(text, TODAY, prefer="future") == expected


def test_weekday_next_week_from_sunday_is_monday_based() -> None:
    sunday = date(2022, 6, 26)
    assert parse_date("thứ năm tuần sau", sunday) == date(2022, 6, 30)
    assert parse_date("thứ hai", sunday) == MON
    assert parse_date("thứ hai", sunday, prefer="future") == NEXT_MON
    assert parse_date("chủ nhật tuần này", sunday) == sunday


def test_weekday_toi_means_upcoming() -> None:
    assert parse_date("thứ tư tới", TODAY) == date(2022, 6, 29)
    assert parse_date("thứ hai tới", TODAY) == NEXT_MON


@pytest.mark.parametrize(
    "text",
    [
        "lần thứ 2",
        "lần thứ hai",
        "đợt thứ ba",
        "tuần thứ 3",
        "theo thứ tự",
        "thủ trưởng",
        "thư ba",
        "lịch diễn tập xã Ba Sao",
        "T7/2022",
    ],
)
def test_parse_date_weekday_false_friends(text: str) -> None:
    assert parse_date(text, TODAY) is None


# ---------------------------------------------------------------------------------------------------------
# parse_date: no date / errors
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "Bình Lục quý II được bao nhiêu điểm?",
        "lịch trực tuần này",
        "trung đoàn 151",
        "Chỉ thị 87",
        "cụm 2",
        "lịch diễn tập xã Ba Sao",
        "quý 2",
        "quý II/2022",
        "Q2/2022",
        "quý 2/22",
        "6 tháng đầu năm",
        "sáu tháng đầu năm 2022",
        "năm 2022",
        "tháng 7/2022",
        "tháng 7",
        "14h30",
        "14:30",
        "điểm 92.5",
        "trực 24/24",
        "Quyết định 123/QĐ-BCH",
        "số 45/2022",
        "1-15",
        "trong 2-3 ngày",
        "Kim Bảng được 84,25 điểm",
    ],
)
def test_parse_date_none(text: str) -> None:
    assert parse_date(text, TODAY) is None


def test_parse_date_contains_2_9() -> None:
    assert parse_date("đợt tăng cường trực 2/9 từ ngày nào?", TODAY) == date(2022, 9, 2)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("31/02", "31/02"),
        ("31/02/2022", "31/02/2022"),
        ("32/1", "32/1"),
        ("0/5", "0/5"),
        ("15/13", "15/13"),
        ("29/02/2023", "29/02/2023"),
        ("31/4", "31/4"),
        ("ngày 31 tháng 6", "31/6"),
        ("lịch trực 31/6/2022", "31/6/2022"),
        ("31-02-2022", "31-02-2022"),
    ],
)
def test_parse_date_impossible(text: str, shown: str) -> None:
    with pytest.raises(DateParseError) as exc:
        parse_date(text, TODAY)
    message = str(exc.value)
    assert f"Ngày {shown} " in message
    assert "dd/mm/yyyy" in message


def test_parse_date_error_message_exact() -> None:
    with pytest.raises(DateParseError) as exc:
        parse_date("31/02/2022", TODAY)
    assert str(exc.value) == (
        "Ngày 31/02/2022 không có thật (tháng 2 năm 2022 có 28 ngày). Viết ngày dạng dd/mm/yyyy, ví dụ 23/06/2022."
    )


def test_parse_date_error_explains_month() -> None:
    with pytest.raises(DateParseError, match="không có tháng 13"):
        parse_date("15/13", TODAY)
    with pytest.raises(DateParseError, match=r"tháng 2 năm 2023 có 28 ngày"):
        parse_date("29/02/2023", TODAY)
    with pytest.raises(DateParseError, match=r"tháng 1 có 31 ngày"):
        parse_date("32/1", TODAY)


def test_parse_date_error_for_bad_bare_day() -> None:
    with pytest.raises(DateParseError, match="Ngày 45"):
        parse_date("ngày 45", TODAY)


# ---------------------------------------------------------------------------------------------------------
# parse_datetime
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14h00 23/6/2022", (date(2022, 6, 23), time(14, 0), None)),
        ("chiều 23/6", (date(2022, 6, 23), None, "chieu")),
        ("14 giờ thứ Năm tuần sau", (date(2022, 6, 30), time(14, 0), None)),
        ("23/06/2022 lúc 7h30", (date(2022, 6, 23), time(7, 30), None)),
        ("chiều nay 15h", (TODAY, time(15, 0), "chieu")),
        ("chieu nay 15h", (TODAY, time(15, 0), "chieu")),
        ("chiều mai 2h", (THU, time(14, 0), "chieu")),
        ("2h chiều mai", (THU, time(14, 0), "chieu")),
        ("tối nay 7h30", (TODAY, time(19, 30), "toi")),
        ("toi nay 8h", (TODAY, time(20, 0), "toi")),
        ("họp 8h tối 23/6", (date(2022, 6, 23), time(20, 0), "toi")),
        ("sáng mai 7h", (THU, time(7, 0), "sang")),
        ("sáng thứ hai 7h", (NEXT_MON, time(7, 0), "sang")),
        ("7 giờ sáng thứ 7", (SAT, time(7, 0), "sang")),
        ("chiều 23/6 lúc 12h", (date(2022, 6, 23), time(12, 0), "chieu")),
        ("tối mai", (THU, None, "toi")),
        ("23/6", (date(2022, 6, 23), None, None)),
        ("tối thứ 5 tuần sau lúc 19h", (date(2022, 6, 30), time(19, 0), "toi")),
    ],
)
def test_parse_datetime(text: str, expected: tuple[date, time | None, str | None]) -> None:
    assert parse_datetime(text, TODAY) == expected


def test_parse_datetime_default_prefers_future() -> None:
    assert parse_datetime("thứ hai 8h", TODAY) == (NEXT_MON, time(8, 0), None)
    assert parse_datetime("thứ hai 8h", TODAY, prefer="nearest") == (MON, time(8, 0), None)
    assert parse_datetime("21/6", TODAY) == (date(2023, 6, 21), None, None)


@pytest.mark.parametrize(
    "text",
    [
        "tôi muốn xem lịch 23/6 2h",
        "chiếu phim 23/6 lúc 2h",
        "sang tuần họp 23/6 lúc 2h",
    ],
)
def test_parse_datetime_no_false_session(text: str) -> None:
    result = parse_datetime(text, TODAY)
    assert result == (date(2022, 6, 23), time(2, 0), None)


@pytest.mark.parametrize("text", ["15h", "chiều 15h", "", "quý 2", "trung đoàn 151"])
def test_parse_datetime_none_without_date(text: str) -> None:
    assert parse_datetime(text, TODAY) is None


def test_parse_datetime_propagates_errors() -> None:
    with pytest.raises(DateParseError, match="25h"):
        parse_datetime("23/6 lúc 25h", TODAY)
    with pytest.raises(DateParseError, match="31/02"):
        parse_datetime("31/02 lúc 14h", TODAY)


# ---------------------------------------------------------------------------------------------------------
# parse_date_range
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tuần này", (MON, SUN, "tuần này")),
        ("lịch trực tuần này", (MON, SUN, "tuần này")),
        ("lich truc tuan nay", (MON, SUN, "tuần này")),
        ("tuần sau", (NEXT_MON, date(2022, 7, 3), "tuần sau")),
        ("tuần tới", (NEXT_MON, date(2022, 7, 3), "tuần tới")),
        ("sang tuần", (NEXT_MON, date(2022, 7, 3), "tuần sau")),
        ("tuần trước", (date(2022, 6, 13), date(2022, 6, 19), "tuần trước")),
        ("tháng này", (date(2022, 6, 1), date(2022, 6, 30), "tháng này")),
        ("tháng sau", (date(2022, 7, 1), date(2022, 7, 31), "tháng sau")),
        ("tháng trước", (date(2022, 5, 1), date(2022, 5, 31), "tháng trước")),
        ("tháng 7", (date(2022, 7, 1), date(2022, 7, 31), "tháng 7/2022")),
        ("tháng 7/2022", (date(2022, 7, 1), date(2022, 7, 31), "tháng 7/2022")),
        ("tháng 2/2024", (date(2024, 2, 1), date(2024, 2, 29), "tháng 2/2024")),
        ("tháng 07 năm 2023", (date(2023, 7, 1), date(2023, 7, 31), "tháng 7/2023")),
        ("20/6-26/6", (MON, SUN, "20–26/06/2022")),
        ("20/6 - 26/6", (MON, SUN, "20–26/06/2022")),
        ("20–26/6/2022", (MON, SUN, "20–26/06/2022")),
        ("20-26/6", (MON, SUN, "20–26/06/2022")),
        ("từ 20/6 đến 26/6", (MON, SUN, "20–26/06/2022")),
        ("từ ngày 20/6 đến ngày 26/6", (MON, SUN, "20–26/06/2022")),
        ("tu 20/6 den het ngay 26/6", (MON, SUN, "20–26/06/2022")),
        ("24–25/8/2022", (date(2022, 8, 24), date(2022, 8, 25), "24–25/08/2022")),
        ("24-25/8/2022", (date(2022, 8, 24), date(2022, 8, 25), "24–25/08/2022")),
        ("31/08–05/09/2022", (date(2022, 8, 31), date(2022, 9, 5), "31/08–05/09/2022")),
        ("30/12/2022–02/01/2023", (date(2022, 12, 30), date(2023, 1, 2), "30/12/2022–02/01/2023")),
        ("hôm nay", (TODAY, TODAY, "22/06/2022")),
        ("mai", (THU, THU, "23/06/2022")),
        ("23/6", (THU, THU, "23/06/2022")),
        ("thứ năm", (THU, THU, "23/06/2022")),
        ("thứ năm tuần sau", (date(2022, 6, 30), date(2022, 6, 30), "30/06/2022")),
        ("ngày 23 tháng 6 năm 2022", (THU, THU, "23/06/2022")),
        ("đợt tăng cường trực 2/9 từ ngày nào?", (date(2022, 9, 2), date(2022, 9, 2), "02/09/2022")),
        ("từ hôm nay đến chủ nhật", (TODAY, SUN, "22–26/06/2022")),
        ("từ thứ hai đến thứ sáu tuần sau", (NEXT_MON, date(2022, 7, 1), "27/06–01/07/2022")),
    ],
)
def test_parse_date_range(text: str, expected: tuple[date, date, str]) -> None:
    assert parse_date_range(text, TODAY) == expected


def test_parse_date_range_across_new_year_without_year() -> None:
    assert parse_date_range("30/12-2/1", date(2022, 12, 28)) == (
        date(2022, 12, 30),
        date(2023, 1, 2),
        "30/12/2022–02/01/2023",
    )
    assert parse_date_range("30/12-2/1/2023", TODAY)[:2] == (date(2022, 12, 30), date(2023, 1, 2))


def test_parse_date_range_month_year_nearest() -> None:
    assert parse_date_range("tháng 1", date(2022, 12, 10))[:2] == (date(2023, 1, 1), date(2023, 1, 31))
    assert parse_date_range("tháng 12", date(2023, 1, 10))[:2] == (date(2022, 12, 1), date(2022, 12, 31))


def test_parse_date_range_next_month_across_year() -> None:
    assert parse_date_range("tháng sau", date(2022, 12, 10))[:2] == (date(2023, 1, 1), date(2023, 1, 31))


def test_parse_date_range_week_from_sunday() -> None:
    assert parse_date_range("tuần này", date(2022, 6, 26))[:2] == (MON, SUN)
    assert parse_date_range("tuần sau", date(2022, 6, 26))[:2] == (NEXT_MON, date(2022, 7, 3))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Bình Lục quý II được bao nhiêu điểm?",
        "trung đoàn 151",
        "cụm 2",
        "6 tháng đầu năm",
        "trong 6 tháng tới",
    ],
)
def test_parse_date_range_none(text: str) -> None:
    assert parse_date_range(text, TODAY) is None


def test_parse_date_range_reversed_is_error() -> None:
    with pytest.raises(DateParseError, match="26/6-20/6"):
        parse_date_range("26/6-20/6", TODAY)


def test_parse_date_range_bad_month() -> None:
    with pytest.raises(DateParseError, match="tháng 13"):
        parse_date_range("tháng 13", TODAY)


def test_parse_date_range_bad_day_in_span() -> None:
    with pytest.raises(DateParseError, match="31/6"):
        parse_date_range("20-31/6", TODAY)


# ---------------------------------------------------------------------------------------------------------
# periods
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("quý 2", PeriodSpec(2022, "quarter", 2)),
        ("quy 2", PeriodSpec(2022, "quarter", 2)),
        ("quý II", PeriodSpec(2022, "quarter", 2)),
        ("quý ii", PeriodSpec(2022, "quarter", 2)),
        ("quý II/2022", PeriodSpec(2022, "quarter", 2)),
        ("quý 2 năm 2022", PeriodSpec(2022, "quarter", 2)),
        ("q2", PeriodSpec(2022, "quarter", 2)),
        ("Q2/2022", PeriodSpec(2022, "quarter", 2)),
        ("Q2 2022", PeriodSpec(2022, "quarter", 2)),
        ("quý I", PeriodSpec(2022, "quarter", 1)),
        ("quý III/2021", PeriodSpec(2021, "quarter", 3)),
        ("quý IV/21", PeriodSpec(2021, "quarter", 4)),
        ("quý tư", PeriodSpec(2022, "quarter", 4)),
        ("quý 4 năm nay", PeriodSpec(2022, "quarter", 4)),
        ("quý này", PeriodSpec(2022, "quarter", 2)),
        ("quý trước", PeriodSpec(2022, "quarter", 1)),
        ("Bình Lục quý II được bao nhiêu điểm?", PeriodSpec(2022, "quarter", 2)),
        ("6 tháng đầu năm", PeriodSpec(2022, "half", 1)),
        ("sáu tháng đầu năm 2022", PeriodSpec(2022, "half", 1)),
        ("sau thang dau nam 2021", PeriodSpec(2021, "half", 1)),
        ("6 tháng cuối năm", PeriodSpec(2022, "half", 2)),
        ("kết quả 6 tháng cuối năm nay", PeriodSpec(2022, "half", 2)),
        ("nửa đầu năm", PeriodSpec(2022, "half", 1)),
        ("nửa cuối năm 2023", PeriodSpec(2023, "half", 2)),
        ("năm 2022", PeriodSpec(2022, "year", 0)),
        ("nam 2021", PeriodSpec(2021, "year", 0)),
        ("cả năm", PeriodSpec(2022, "year", 0)),
        ("cả năm 2021", PeriodSpec(2021, "year", 0)),
        ("năm nay", PeriodSpec(2022, "year", 0)),
        ("năm ngoái", PeriodSpec(2021, "year", 0)),
        ("tổng kết năm 2022 cụm 2", PeriodSpec(2022, "year", 0)),
    ],
)
def test_parse_period(text: str, expected: PeriodSpec) -> None:
    assert parse_period(text, TODAY) == expected


def test_parse_period_quarter_beats_year() -> None:
    assert parse_period("năm 2022 quý 3", TODAY) == PeriodSpec(2022, "quarter", 3)
    assert parse_period("quý 3 năm 2021", TODAY) == PeriodSpec(2021, "quarter", 3)


def test_parse_period_previous_quarter_crosses_year() -> None:
    assert parse_period("quý trước", date(2022, 2, 1)) == PeriodSpec(2021, "quarter", 4)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "lịch trực tuần này",
        "ngày 23 tháng 6 năm 2022",
        "23/6/2022",
        "thứ năm",
        "thứ năm tuần sau",
        "Hà Nam",
        "tỉnh Hà Nam 2022",
        "kính gửi quý vị",
        "quy định 2",
        "trung đoàn 151",
        "cụm 2",
        "hôm nay ai trực chỉ huy?",
    ],
)
def test_parse_period_none(text: str) -> None:
    assert parse_period(text, TODAY) is None


@pytest.mark.parametrize(("text", "shown"), [("quý 5", "quý 5"), ("quy 0", "quý 0"), ("quý 12/2022", "quý 12")])
def test_parse_period_bad_quarter(text: str, shown: str) -> None:
    with pytest.raises(DateParseError) as exc:
        parse_period(text, TODAY)
    assert shown in str(exc.value)
    assert "quý II/2022" in str(exc.value)


@pytest.mark.parametrize(
    ("spec", "label", "bounds"),
    [
        (PeriodSpec(2022, "quarter", 1), "quý I/2022", (date(2022, 1, 1), date(2022, 3, 31))),
        (PeriodSpec(2022, "quarter", 2), "quý II/2022", (date(2022, 4, 1), date(2022, 6, 30))),
        (PeriodSpec(2022, "quarter", 3), "quý III/2022", (date(2022, 7, 1), date(2022, 9, 30))),
        (PeriodSpec(2022, "quarter", 4), "quý IV/2022", (date(2022, 10, 1), date(2022, 12, 31))),
        (PeriodSpec(2022, "half", 1), "6 tháng đầu năm 2022", (date(2022, 1, 1), date(2022, 6, 30))),
        (PeriodSpec(2022, "half", 2), "6 tháng cuối năm 2022", (date(2022, 7, 1), date(2022, 12, 31))),
        (PeriodSpec(2022, "year", 0), "năm 2022", (date(2022, 1, 1), date(2022, 12, 31))),
    ],
)
def test_period_label_and_bounds(spec: PeriodSpec, label: str, bounds: tuple[date, date]) -> None:
    assert spec.label() == label
    assert spec.bounds() == bounds


def test_period_spec_is_frozen_and_hashable() -> None:
    spec = PeriodSpec(2022, "quarter", 2)
    assert {spec, PeriodSpec(2022, "quarter", 2)} == {spec}
    with pytest.raises(AttributeError):
        spec.year = 2023  # type: ignore[misc]


@pytest.mark.parametrize(("kind", "number"), [("quarter", 5), ("quarter", 0), ("half", 3), ("year", 1), ("month", 1)])
def test_period_spec_validates(kind: str, number: int) -> None:
    with pytest.raises(ValueError):
        PeriodSpec(2022, kind, number)
