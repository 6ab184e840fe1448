"""Start-up failures: `qtbot run` as its own process ends in one Vietnamese line naming the setting,
with a non-zero exit code and no secret anywhere in its output."""

from __future__ import annotations

import io
import logging
import socket
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.app import setup_logging
from bot.startup import RedactingFormatter
from tests.chatting import qtbot_env, qtbot_start_failure
from tests.conftest import PG_URL, make_settings
from tests.fakes.telegram import FakeTelegram

PASSWORD = "Mk-bi-mat-42"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _one_line(code: int, out: str, err: str, setting: str) -> str:
    lines = err.strip().splitlines()
    assert code != 0 and len(lines) == 1, (code, out, err)
    assert lines[0].startswith("Không khởi động được: ") and setting in lines[0], lines[0]
    return lines[0]


async def test_an_unreachable_postgresql_names_the_database_url_without_its_password(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://qtbot:{PASSWORD}@127.0.0.1:{_free_port()}/qtbot"
    code, out, err = await qtbot_start_failure(qtbot_env(url), tmp_path)
    line = _one_line(code, out, err, "QTBOT_DATABASE_URL")
    assert "127.0.0.1" in line and PASSWORD not in out + err


@pytest.mark.skipif(not PG_URL, reason="needs a PostgreSQL server")
async def test_a_missing_postgresql_database_says_which_and_how_to_create_it(tmp_path: Path) -> None:
    url = make_url(PG_URL).set(database="qtbot_no_such_database", password=PASSWORD)
    env = qtbot_env(url.render_as_string(hide_password=False))
    code, out, err = await qtbot_start_failure(env, tmp_path)
    line = _one_line(code, out, err, "QTBOT_DATABASE_URL")
    assert "qtbot_no_such_database" in line and "createdb" in line and PASSWORD not in out + err


async def test_a_sqlite_file_that_cannot_be_made_names_the_database_url(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    env = qtbot_env(f"sqlite+aiosqlite:///{tmp_path}/a-file/qtbot.db")
    line = _one_line(*await qtbot_start_failure(env, tmp_path), "QTBOT_DATABASE_URL")
    assert "qtbot.db" in line


async def test_an_unreachable_telegram_api_names_the_base_url(demo_db_url: str, tmp_path: Path) -> None:
    token = "123456:the-secret-half"
    env = qtbot_env(demo_db_url, telegram_token=token, telegram_base_url=f"http://127.0.0.1:{_free_port()}")
    code, out, err = await qtbot_start_failure(env, tmp_path)
    _one_line(code, out, err, "QTBOT_TELEGRAM_BASE_URL")
    assert "the-secret-half" not in out + err


async def test_a_rejected_token_in_webhook_mode_ends_in_one_line(demo_db_url: str, tmp_path: Path) -> None:
    async with FakeTelegram() as fake, fake.serve() as root:
        env = qtbot_env(
            demo_db_url,
            telegram_token="123456:not-the-right-key",
            telegram_base_url=root,
            public_url="https://bot.example.vn",
            telegram_webhook_secret="s" * 20,
            web_listen=f"127.0.0.1:{_free_port()}",
        )
        code, out, err = await qtbot_start_failure(env, tmp_path)
    _one_line(code, out, err, "QTBOT_TELEGRAM_TOKEN")
    assert "not-the-right-key" not in out + err and "s" * 20 not in out + err


def test_secrets_are_taken_out_of_tracebacks_too(demo_db_url: str) -> None:
    token = "123456:AAE-the-secret-half"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(message)s", [token, "AAE-the-secret-half", PASSWORD]))
    log = logging.getLogger("test.redaction")
    log.addHandler(handler)
    try:
        try:
            raise ConnectionError(f"GET https://api.telegram.org/bot{token}/getMe via postgres:{PASSWORD}@db")
        except ConnectionError:
            log.exception("start-up failed")
    finally:
        log.removeHandler(handler)
    text = stream.getvalue()
    assert "Traceback" in text and "ConnectionError" in text
    assert "AAE-the-secret-half" not in text and PASSWORD not in text


def test_the_log_setup_redacts_the_database_password(demo_db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    settings = make_settings(f"postgresql+asyncpg://qtbot:{PASSWORD}@db.example/qtbot", telegram_token="1:abc-def")
    setup_logging(settings)
    try:
        try:
            raise OSError(f"cannot reach postgresql://qtbot:{PASSWORD}@db.example with 1:abc-def")
        except OSError:
            logging.getLogger("qtbot").exception("failed")
    finally:
        logging.getLogger().handlers[:] = []
    err = capsys.readouterr().err
    assert "cannot reach" in err and PASSWORD not in err and "abc-def" not in err
