"""Settings, read once from the environment (prefix ``QTBOT_``) and ``.env``.

Every setting is documented in ``.env.example``. A wrong value stops start-up with one line naming the
setting (see :func:`load_settings`); secrets never appear in that line or in logs.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.offsets import Offset, parse_offset

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///qtbot.db"


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# The digests' default crontab lines (daily, weekly, news); tests/test_startup.py checks they parse.
DEFAULT_CRONS = ("30 6 * * *", "0 7 * * mon", "0 17 * * *")


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
    # Webhook mode for Telegram: the secret Telegram must send back with every call (the address is
    # {QTBOT_PUBLIC_URL}/telegram). Empty: long polling.
    telegram_webhook_secret: SecretStr | None = None

    # Zalo Bot API (ZALO.md): token from Zalo Bot Creator, API root, admins by Zalo user id.
    zalo_token: SecretStr | None = None
    zalo_base_url: str = "https://bot-api.zaloplatforms.com"
    admin_zalo_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Webhook mode for Zalo: the secret Zalo sends in X-Bot-Api-Secret-Token ({QTBOT_PUBLIC_URL}/zalo).
    zalo_webhook_secret: SecretStr | None = None
    # Long polling: seconds getUpdates waits for a message.
    zalo_poll_timeout: int = Field(default=30, ge=1, le=60)
    # Outgoing messages per calendar month the Zalo plan allows (Basic: 3,000); 0 = no limit.
    zalo_monthly_quota: int = Field(default=3000, ge=0)
    # Zalo publishes no rate limit; these keep well below what bots are seen to get away with.
    zalo_rate_per_second: float = Field(default=10.0, gt=0)
    zalo_private_interval_seconds: float = Field(default=1.0, ge=0)
    zalo_group_per_minute: int = Field(default=20, ge=1)

    # The one web app (webhooks, /healthz, /metrics, /files): the public HTTPS root a load balancer
    # forwards to QTBOT_WEB_LISTEN. A channel uses a webhook when this and its secret are set.
    public_url: str | None = None
    web_listen: str | None = None

    # Old names (one release): QTBOT_WEBHOOK_URL is Telegram's full webhook address,
    # QTBOT_WEBHOOK_SECRET = QTBOT_TELEGRAM_WEBHOOK_SECRET, QTBOT_WEBHOOK_LISTEN = QTBOT_WEB_LISTEN.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str | None = "0.0.0.0:8080"

    # Duty handover time when a roster row does not give one (07h30 is the common practice).
    duty_handover: time = time(7, 30)
    # How long a dialog (guided /them... commands) waits for the next answer.
    dialog_timeout_minutes: int = Field(default=30, ge=1, le=24 * 60)
    # The person on duty acknowledges their reminder ("Đã nhận"); nobody by this long before the
    # handover: the unit's commander and groups are told, once.
    duty_ack_minutes: int = Field(default=60, ge=0, le=24 * 60)

    # Reminder offsets per kind: "1d@16:00" = the day before at 16h00, "2h" / "30m" = that long
    # before the start, "0d@06:30" = on the day at 06h30, "-1d@08:00" = the day after (overdue).
    remind_conference: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["1d@16:00", "2h"])
    remind_duty: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["1d@16:00", "1h"])
    remind_drill: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["7d@16:00", "1d@16:00", "0d@06:30"])
    remind_task: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["7d@08:00", "1d@08:00", "-1d@08:00"])
    # The planner looks this far ahead...
    planner_horizon_minutes: int = Field(default=10, ge=1, le=24 * 60)
    # ...and this far behind, to catch up after downtime; older reminders are recorded as missed.
    grace_minutes: int = Field(default=120, ge=1, le=7 * 24 * 60)
    # Digests, as crontab lines in the cluster's time zone.
    digest_daily_cron: str = DEFAULT_CRONS[0]
    digest_weekly_cron: str = DEFAULT_CRONS[1]
    digest_news_cron: str = DEFAULT_CRONS[2]
    # RSS/Atom feeds fetched every news_interval_minutes (admins can add more with /themnguon).
    news_feeds: Annotated[list[str], NoDecode] = Field(default_factory=list)
    news_interval_minutes: int = Field(default=30, ge=1, le=24 * 60)

    # Outgoing limits per channel, as Telegram enforces them (leave headroom for replies).
    telegram_rate_per_second: float = Field(default=25.0, gt=0)
    telegram_private_interval_seconds: float = Field(default=1.0, ge=0)
    telegram_group_per_minute: int = Field(default=20, ge=1)
    # Delivery: attempts for 5xx/network errors, and when a claimed row of a dead process is reclaimed.
    delivery_max_attempts: int = Field(default=5, ge=1, le=50)
    delivery_claim_timeout_seconds: int = Field(default=120, ge=5)
    delivery_batch_size: int = Field(default=200, ge=1, le=5000)
    # Messages in flight at once: enough to hide the round trip to Telegram (30 msg/s × ~0.2 s),
    # few enough that the HTTP client's own bookkeeping stays cheap.
    delivery_concurrency: int = Field(default=16, ge=1, le=256)

    @field_validator("admin_telegram_ids", "admin_zalo_ids", "news_feeds", mode="before")
    @classmethod
    def _parse_lists(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("remind_conference", "remind_duty", "remind_drill", "remind_task", mode="before")
    @classmethod
    def _parse_offsets(cls, value: object) -> object:
        offsets = _split_csv(value)
        for offset in offsets if isinstance(offsets, list) else []:
            parse_offset(str(offset))
        return offsets

    @field_validator("digest_daily_cron", "digest_weekly_cron", "digest_news_cron")
    @classmethod
    def _check_cron(cls, value: str) -> str:
        if value in DEFAULT_CRONS:  # known good: a console question need not import apscheduler
            return value
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(f"dòng crontab '{value}' không hợp lệ (ví dụ: 30 6 * * *)") from exc
        return value

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"mức ghi log “{value}” không có; dùng một trong {', '.join(LOG_LEVELS)}")
        return level

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

    @field_validator("telegram_base_url", "zalo_base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("cần một địa chỉ http(s)://, ví dụ https://api.telegram.org")
        return value.rstrip("/")

    @field_validator("zalo_token")
    @classmethod
    def _check_zalo_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        token = value.get_secret_value().strip()
        head, _, tail = token.partition(":")
        if not head or not tail or any(c.isspace() or c == "/" for c in token):
            raise ValueError("token Zalo có dạng <bot_id>:<khóa> (lấy trong Zalo Bot Creator)")
        return SecretStr(token)

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.strip().startswith(("https://", "http://")):
            raise ValueError("cần địa chỉ https://... công khai của bot, ví dụ https://bot.example.vn")
        return value.strip().rstrip("/")

    @field_validator("zalo_webhook_secret")
    @classmethod
    def _check_zalo_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not re.fullmatch(r"[A-Za-z0-9_-]{8,256}", value.get_secret_value()):
            raise ValueError("8–256 ký tự A-Z, a-z, 0-9, _ hoặc - (Zalo gửi lại nó trong mỗi lần gọi)")
        return value

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

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("https://", "http://")):
            raise ValueError("cần địa chỉ https://... mà Telegram gọi tới, ví dụ https://bot.example.vn/telegram")
        return value.strip()

    @field_validator("webhook_secret", "telegram_webhook_secret")
    @classmethod
    def _check_webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", value.get_secret_value()):
            raise ValueError("16–256 ký tự A-Z, a-z, 0-9, _ hoặc - (Telegram gửi lại nó trong mỗi lần gọi)")
        return value

    @field_validator("webhook_listen", "web_listen")
    @classmethod
    def _check_listen(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("cần dạng host:port, ví dụ 0.0.0.0:8080")
        return value

    @model_validator(mode="after")
    def _webhook_needs_a_secret(self) -> Settings:
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError("phải có khi đặt QTBOT_WEBHOOK_URL")
        return self

    @property
    def telegram_webhook(self) -> tuple[str, str] | None:
        """(address, secret) when Telegram runs on a webhook; None: long polling."""
        if self.webhook_url and self.webhook_secret:  # the old settings, still honoured
            return self.webhook_url, self.webhook_secret.get_secret_value()
        if self.public_url and self.telegram_webhook_secret:
            return f"{self.public_url}/telegram", self.telegram_webhook_secret.get_secret_value()
        return None

    @property
    def zalo_webhook(self) -> tuple[str, str] | None:
        """(address, secret) when Zalo runs on a webhook; None: long polling."""
        if self.public_url and self.zalo_webhook_secret:
            return f"{self.public_url}/zalo", self.zalo_webhook_secret.get_secret_value()
        return None

    @property
    def web_address(self) -> str | None:
        """Where the web app listens: QTBOT_WEB_LISTEN, or the old QTBOT_WEBHOOK_LISTEN in webhook mode."""
        if self.web_listen:
            return self.web_listen
        if self.telegram_webhook or self.zalo_webhook:
            return self.webhook_listen
        return None

    def secrets(self) -> list[str]:
        """Every secret value set, for log redaction."""
        tokens = [t.get_secret_value() for t in (self.telegram_token, self.zalo_token) if t is not None]
        others = (self.webhook_secret, self.telegram_webhook_secret, self.zalo_webhook_secret)
        found = tokens + [s.get_secret_value() for s in others if s is not None]
        # A token's secret half alone must not leak either (it shows up URL-quoted or split).
        found += [token.split(":", 1)[1] for token in tokens if ":" in token]
        found += [password for password in [_database_password(self.database_url)] if password]
        return sorted({s for s in found if s}, key=len, reverse=True)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def offsets(self, kind: str) -> list[Offset]:
        """The reminder offsets configured for conference / duty / drill / task."""
        return [parse_offset(code) for code in getattr(self, f"remind_{kind}")]


def _database_password(url: str) -> str | None:
    try:
        return make_url(url).password
    except ArgumentError:
        return None


def load_settings(**overrides: object) -> Settings:
    """Read settings; on a wrong value raise :class:`ConfigError` with one clear line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(config_error_text(exc)) from None


#: pydantic's error types -> what they mean, in Vietnamese ({…} from the error's context).
_ERROR_TYPES = {
    "int_parsing": "phải là một số nguyên",
    "int_from_float": "phải là một số nguyên",
    "float_parsing": "phải là một số (dấu chấm thập phân, ví dụ 2.5)",
    "bool_parsing": "phải là true hoặc false",
    "greater_than": "phải lớn hơn {gt}",
    "greater_than_equal": "phải từ {ge} trở lên",
    "less_than": "phải nhỏ hơn {lt}",
    "less_than_equal": "phải từ {le} trở xuống",
    "missing": "thiếu giá trị",
    "string_type": "phải là một chuỗi chữ",
    "list_type": "phải là một danh sách cách nhau bằng dấu phẩy",
    "time_parsing": "phải là giờ dạng HH:MM, ví dụ 07:30",
    "time_type": "phải là giờ dạng HH:MM, ví dụ 07:30",
}
_SECRET_WORDS = ("token", "secret", "database_url", "password")


def _number(value: object) -> object:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def config_error_text(exc: ValidationError) -> str:
    """One Vietnamese line per wrong setting, naming it (QTBOT_...); a secret's value is never shown."""
    lines: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "webhook_secret"
        if field in lines:
            continue
        kind = str(error.get("type", ""))
        if kind == "value_error":
            message = str(error.get("msg", "")).removeprefix("Value error, ")
        else:
            context = {k: _number(v) for k, v in (error.get("ctx") or {}).items()}
            message = _ERROR_TYPES.get(kind, "giá trị không hợp lệ").format(**context)
            value = error.get("input")
            secret = any(word in field for word in _SECRET_WORDS)
            if not secret and isinstance(value, str | int | float) and len(str(value)) <= 60:
                message += f" (đang là “{value}”)"
        lines[field] = f"Cấu hình sai: QTBOT_{field.upper()}: {message}"
    return "\n".join(lines.values())
