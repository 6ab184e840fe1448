"""Settings, read once from the environment (prefix ``QTBOT_``) and ``.env``.

Every setting is documented in ``.env.example``. A wrong value stops start-up with one line naming the
setting (see :func:`load_settings`); secrets never appear in that line or in logs.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///qtbot.db"


class ConfigError(Exception):
    """A setting has a wrong value; the message names it and says what is expected."""


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, int):
        return [value]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QTBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    timezone: str = "Asia/Ho_Chi_Minh"
    log_level: str = "INFO"

    telegram_token: SecretStr | None = None
    telegram_base_url: str = "https://api.telegram.org"
    admin_telegram_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)

    # Duty handover time when a roster row does not give one (07h30 is the common practice).
    duty_handover: time = time(7, 30)
    # How long a dialog (guided /them... commands) waits for the next answer.
    dialog_timeout_minutes: int = Field(default=30, ge=1, le=24 * 60)

    @field_validator("admin_telegram_ids", mode="before")
    @classmethod
    def _parse_ids(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"không có múi giờ '{value}' (ví dụ đúng: Asia/Ho_Chi_Minh)") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("cần dạng sqlite+aiosqlite:///duong/dan.db hoặc postgresql+asyncpg://user@host/db")
        return value

    @field_validator("telegram_base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("cần một địa chỉ http(s)://, ví dụ https://api.telegram.org")
        return value.rstrip("/")

    @field_validator("telegram_token")
    @classmethod
    def _check_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        token = value.get_secret_value().strip()
        head, _, tail = token.partition(":")
        if not head.isdigit() or not tail:
            raise ValueError("token Telegram có dạng 123456:ABC... (lấy từ @BotFather)")
        return SecretStr(token)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def load_settings(**overrides: object) -> Settings:
    """Read settings; on a wrong value raise :class:`ConfigError` with one clear line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        message = str(error.get("msg", "giá trị không hợp lệ")).removeprefix("Value error, ")
        raise ConfigError(f"Cấu hình sai: QTBOT_{field.upper()}: {message}") from None
