"""Settings, schema, demo data and the pure pieces under the handlers (ranking, names, intents)."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from bot.app import App, RedactSecrets
from bot.config import DEFAULT_DATABASE_URL, ConfigError, Settings, load_settings
from bot.db import upgrade_database
from bot.messages import Button, split_text
from bot.models import Base
from bot.services.results import competition_ranks, grade_for
from bot.services.units import load_directory
from bot.textnorm import normalize
from handlers.nlu import detect_intent


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"QTBOT_TIMEZONE": "Asia/Hanoii"}, "QTBOT_TIMEZONE"),
        ({"QTBOT_DATABASE_URL": "mysql://x"}, "QTBOT_DATABASE_URL"),
        ({"QTBOT_TELEGRAM_TOKEN": "not-a-token"}, "QTBOT_TELEGRAM_TOKEN"),
        ({"QTBOT_ADMIN_TELEGRAM_IDS": "12,abc"}, "QTBOT_ADMIN_TELEGRAM_IDS"),
        ({"QTBOT_TELEGRAM_BASE_URL": "api.telegram.org"}, "QTBOT_TELEGRAM_BASE_URL"),
    ],
)
def test_a_wrong_setting_names_itself_in_one_line(monkeypatch: pytest.MonkeyPatch, env: dict, setting: str) -> None:
    monkeypatch.chdir("/")  # no .env here
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    message = str(error.value)
    assert message.startswith(f"Cấu hình sai: {setting}:") and "\n" not in message
    assert "not-a-token" not in message  # a secret is never echoed back


def test_settings_defaults_and_lists(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QTBOT_ADMIN_TELEGRAM_IDS", "111, 222")
    settings = load_settings()
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.admin_telegram_ids == [111, 222]
    assert settings.telegram_token is None and str(settings.tz) == "Asia/Ho_Chi_Minh"
    (tmp_path / ".env").write_text("QTBOT_TELEGRAM_TOKEN=123:abc\n")
    monkeypatch.delenv("QTBOT_ADMIN_TELEGRAM_IDS")
    assert load_settings().telegram_token.get_secret_value() == "123:abc"


def test_tokens_are_redacted_from_log_lines() -> None:
    record = logging.LogRecord("httpx", logging.INFO, "", 0, "POST https://x/bot%s/getMe", ("123:SECRET",), None)
    RedactSecrets(["123:SECRET"]).filter(record)
    assert record.getMessage() == "POST https://x/bot***/getMe"


def test_competition_ranking_shares_ranks_on_ties() -> None:
    totals = {1: Decimal("92.5"), 2: Decimal("90"), 3: Decimal("90.0"), 4: Decimal("88.5"), 5: Decimal("70")}
    assert competition_ranks(totals) == {1: 1, 2: 2, 3: 2, 4: 4, 5: 5}


@pytest.mark.parametrize(
    ("total", "grade"), [("92.5", "Xuất sắc"), ("90", "Xuất sắc"), ("89.99", "Tốt"), ("65", "Đạt"), ("10", "Chưa đạt")]
)
def test_grades_follow_the_cluster_thresholds(total: str, grade: str) -> None:
    thresholds = [[80, "Tốt"], [90, "Xuất sắc"], [0, "Chưa đạt"], [65, "Đạt"]]
    assert grade_for(Decimal(total), thresholds) == grade


def test_split_text_keeps_every_line_and_the_limit() -> None:
    text = "\n".join(f"dòng {i} " + "x" * (i % 50) for i in range(500))
    parts = split_text(text, 1000)
    assert all(len(p) <= 1000 for p in parts) and "\n".join(parts) == text
    assert split_text("y" * 2500, 1000) == ["y" * 1000, "y" * 1000, "y" * 500]


def test_button_data_over_64_bytes_is_refused() -> None:
    with pytest.raises(ValueError):
        Button("x", "/ketqua " + "Bình Lục " * 8)


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("lịch trực tuần này", "duty"),
        ("hôm nay ai trực chỉ huy?", "duty"),
        ("mai ai truc", "duty"),
        ("kết quả chấm điểm quý 2", "results"),
        ("Bình Lục quý II được bao nhiêu điểm?", "results"),
        ("hội nghị tổ chức ở địa điểm nào", "schedule"),
        ("nhiệm vụ 6 tháng cuối năm", "tasks"),
        ("lịch diễn tập xã Ba Sao", "drills"),
        ("năm nay huyện diễn tập mấy xã?", "drills"),
        ("hội nghị sơ kết 6 tháng ở đâu, khi nào?", "schedule"),
        ("cụm 2 gồm những đơn vị nào? ai là cụm trưởng?", "units"),
        ("đợt tăng cường trực 2/9 từ ngày nào?", "readiness"),
        ("chỉ thị 87 là gì?", "directives"),
        ("bảng xếp hạng quý 2", "ranking"),
        ("tin tức mới", "news"),
        ("ăn cơm chưa", None),
    ],
)
def test_intents_of_plain_questions(question: str, intent: str | None) -> None:
    assert detect_intent(normalize(question)) == intent


async def test_unit_names_officers_type(demo_app: App) -> None:
    async with demo_app.sessions() as session:
        directory = await load_directory(session)
    for text in ("kim bang", "KB", "Ban CHQS huyện Kim Bảng", "BCHQS Kim Bảng", "huyện kim bảng"):
        assert directory.resolve(text).unit.key == "U-KB", text
    for text in ("TĐ 151", "td151", "e151", "Trung đoàn 151", "trung doan 151"):
        assert directory.resolve(text).unit.key == "U-151", text
    assert directory.resolve("Thanh Liem").unit.key == "U-TL"
    assert directory.resolve("Hà Giang") is None
    ba_sao = directory.find_in_text("lịch diễn tập xã Ba Sao", communes=True)
    assert ba_sao.unit.name == "Thị trấn Ba Sao"
    assert ba_sao.note == "Lưu ý: Ba Sao là thị trấn (Thị trấn Ba Sao), không phải xã."
    assert directory.find_in_text("diễn tập TT Ba Sao", communes=True).note is None
    kim_bang = directory.by_id[directory.resolve("KB").unit.id]
    assert len(directory.communes_of(kim_bang)) == 18


async def test_demo_loads_once(demo_app: App) -> None:
    async def counts() -> dict[str, int]:
        async with demo_app.sessions() as session:
            return {
                table.name: await session.scalar(select(func.count()).select_from(table))
                for table in Base.metadata.sorted_tables
            }

    before = await counts()
    assert before["units"] == 8 + 109 and before["duty_shifts"] == 21 and before["review_results"] == 7
    assert await demo_app.load_demo() == 0
    assert await counts() == before


async def test_migrations_match_the_models_and_rerun_cleanly(empty_app: App) -> None:
    await upgrade_database(empty_app.engine)  # a second upgrade is a no-op

    def diff(connection) -> list:
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)

    async with empty_app.engine.connect() as connection:
        assert await connection.run_sync(diff) == []


def test_env_example_documents_every_setting_and_loads(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    example = (Path(__file__).parents[1] / ".env.example").read_text(encoding="utf-8")
    documented = {line.split("=", 1)[0] for line in example.splitlines() if line.startswith("QTBOT_")}
    assert documented == {f"QTBOT_{name.upper()}" for name in Settings.model_fields}
    (tmp_path / ".env").write_text(example, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.remind_drill == ["7d@16:00", "1d@16:00", "0d@06:30"] and settings.telegram_token is None


def test_long_texts_split_within_the_limit_as_the_platform_counts_it() -> None:
    from bot.messages import split_text, utf16_len

    text = "\n".join(["😀😀 Trực " * 40] * 20)  # emoji count two UTF-16 units
    parts = split_text(text, 2000, measure=utf16_len)
    assert len(parts) > 1 and all(utf16_len(p) <= 2000 for p in parts)
    assert "\n".join(parts) == text
    assert any(utf16_len(p) > 2000 for p in split_text(text, 2000))  # counted in code points, too long
    one_line = "😀" * 1500
    assert all(utf16_len(p) <= 2000 for p in split_text(one_line, 2000, measure=utf16_len))
