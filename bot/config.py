"""Settings, read once from the environment (prefix ``QTBOT_``) and ``.env``.

Every setting is documented in ``.env.example``. A wrong value stops start-up with one line naming the
setting (see :func:`load_settings`); secrets never appear in that line or in logs.

The fields are declared as a pydantic-settings class would declare them (a type, a default, bounds)
and read the same way (keyword arguments, then the environment, then ``.env``, then the default), but
by this module alone: pydantic and pydantic-settings took a fifth of a console question's start-up
(bench/startup.py).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.offsets import Offset, parse_offset

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///qtbot.db"


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# The digests' default crontab lines (daily, weekly, news); tests/test_startup.py checks they parse.
DEFAULT_CRONS = ("30 6 * * *", "0 7 * * mon", "0 17 * * *")
ENV_PREFIX = "QTBOT_"


class ConfigError(Exception):
    """A setting has a wrong value; the message names it and says what is expected."""


class SecretStr:
    """A secret (token, webhook secret): its value only through :meth:`get_secret_value`, never in a
    repr or a log line."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "SecretStr('**********')" if self._value else "SecretStr('')"

    def __str__(self) -> str:
        return "**********" if self._value else ""

    def __eq__(self, other: object) -> bool:
        getter = getattr(other, "get_secret_value", None)
        return callable(getter) and getter() == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Field:
    """A setting's default (or a factory for one) and its bounds."""

    default: Any = None
    default_factory: Callable[[], Any] | None = None
    ge: float | None = None
    gt: float | None = None
    le: float | None = None

    def get_default(self) -> Any:
        return self.default_factory() if self.default_factory is not None else self.default


class _Invalid(Exception):
    """One wrong value: an error type of :data:`_ERROR_TYPES` and its context, or ``value_error`` and
    the message."""

    def __init__(self, kind: str, message: str = "", **context: object) -> None:
        super().__init__(message)
        self.kind, self.message, self.context = kind, message, context
        self.input: object = None  # the wrong part of a list, when it is one


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, int):
        return [value]
    return value


_INTEGER = re.compile(r"[+-]?[0-9]+(?:_[0-9]+)*(?:\.0*)?")


def _as_int(value: object) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise _Invalid("int_from_float")
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip().split(".")[0])  # "30", "+5", "1_000", "3.0" (as pydantic reads them)
    raise _Invalid("int_parsing")


def _as_float(value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise _Invalid("float_parsing") from None
    raise _Invalid("float_parsing")


_TIME = re.compile(r"(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?")


def _as_time(value: object) -> time:
    if isinstance(value, time):
        return value
    if not isinstance(value, str):
        raise _Invalid("time_type")
    match = _TIME.fullmatch(value.strip())
    try:
        if match is None:
            raise ValueError(value)
        hour, minute, second, fraction = match.groups()
        micro = int((fraction or "0").ljust(6, "0"))
        return time(int(hour), int(minute), int(second or 0), micro)
    except ValueError:
        raise _Invalid("time_parsing") from None


def _as_str(value: object) -> str:
    if not isinstance(value, str):
        raise _Invalid("string_type")
    return value


def _as_secret(value: object) -> Any:
    if hasattr(value, "get_secret_value"):
        return value
    return SecretStr(_as_str(value))


def _as_list(item: Callable[[object], Any]) -> Callable[[object], list[Any]]:
    def convert(value: object) -> list[Any]:
        if not isinstance(value, list | tuple):
            raise _Invalid("list_type")
        converted = []
        for part in value:
            try:
                converted.append(item(part))
            except _Invalid as exc:
                exc.input = part
                raise
        return converted

    return convert


# A declared type (as written in the class) -> how a value from the environment or a keyword becomes it.
_CONVERTERS: dict[str, Callable[[object], Any]] = {
    "str": _as_str,
    "int": _as_int,
    "float": _as_float,
    "time": _as_time,
    "SecretStr": _as_secret,
    "list[int]": _as_list(_as_int),
    "list[str]": _as_list(_as_str),
}


def field_validator(*names: str, mode: str = "after") -> Callable[[Any], Any]:
    """Marks a classmethod as checking ``names`` (``mode="before"``: before the type conversion)."""

    def mark(method: Any) -> Any:
        method.__func__.__validates__ = (names, mode)
        return method

    return mark


class Settings:
    """Every setting; ``Settings(_env_file=None, **values)`` reads the environment but no ``.env``."""

    database_url: str = DEFAULT_DATABASE_URL
    timezone: str = "Asia/Ho_Chi_Minh"
    log_level: str = "INFO"

    telegram_token: SecretStr | None = None
    telegram_base_url: str = "https://api.telegram.org"
    admin_telegram_ids: list[int] = Field(default_factory=list)
    # Webhook mode for Telegram: the secret Telegram must send back with every call (the address is
    # {QTBOT_PUBLIC_URL}/telegram). Empty: long polling.
    telegram_webhook_secret: SecretStr | None = None

    # Zalo Bot API (ZALO.md): token from Zalo Bot Creator, API root, admins by Zalo user id.
    zalo_token: SecretStr | None = None
    zalo_base_url: str = "https://bot-api.zaloplatforms.com"
    admin_zalo_ids: list[str] = Field(default_factory=list)
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
    remind_conference: list[str] = Field(default_factory=lambda: ["1d@16:00", "2h"])
    remind_duty: list[str] = Field(default_factory=lambda: ["1d@16:00", "1h"])
    remind_drill: list[str] = Field(default_factory=lambda: ["7d@16:00", "1d@16:00", "0d@06:30"])
    remind_task: list[str] = Field(default_factory=lambda: ["7d@08:00", "1d@08:00", "-1d@08:00"])
    # The planner looks this far ahead...
    planner_horizon_minutes: int = Field(default=10, ge=1, le=24 * 60)
    # ...and this far behind, to catch up after downtime; older reminders are recorded as missed.
    grace_minutes: int = Field(default=120, ge=1, le=7 * 24 * 60)
    # Digests, as crontab lines in the cluster's time zone.
    digest_daily_cron: str = DEFAULT_CRONS[0]
    digest_weekly_cron: str = DEFAULT_CRONS[1]
    digest_news_cron: str = DEFAULT_CRONS[2]
    # RSS/Atom feeds fetched every news_interval_minutes (admins can add more with /themnguon).
    news_feeds: list[str] = Field(default_factory=list)
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

    def _webhook_needs_a_secret(self) -> None:
        if self.webhook_url and self.webhook_secret is None:
            raise _Invalid("value_error", "phải có khi đặt QTBOT_WEBHOOK_URL")

    # --- reading -------------------------------------------------------------------------------------

    model_fields: dict[str, Field]  # name -> default and bounds, in the order declared
    _types: dict[str, tuple[str, bool]]  # name -> (type, may be None)
    _validators: dict[str, list[tuple[str, Callable[[Any], Any]]]]  # name -> (mode, check)

    def __init__(self, _env_file: str | Path | None = ".env", **values: Any) -> None:
        environ = {key.lower(): value for key, value in os.environ.items()}
        dotenv = _read_env_file(Path(_env_file)) if _env_file is not None else {}
        errors: list[tuple[str, _Invalid, object]] = []
        for name, spec in self.model_fields.items():
            key = (ENV_PREFIX + name).lower()
            if name in values:
                value = values[name]
            elif key in environ:
                value = environ[key]
            elif key in dotenv:
                value = dotenv[key]
            else:
                value = spec.get_default()
            try:
                setattr(self, name, self._convert(name, spec, value))
            except _Invalid as exc:
                errors.append((name, exc, value))
            except ValueError as exc:
                errors.append((name, _Invalid("value_error", str(exc)), value))
        if not errors:
            try:
                self._webhook_needs_a_secret()
            except _Invalid as exc:
                errors.append(("webhook_secret", exc, None))
        if errors:
            raise ConfigError(config_error_text(errors))

    @classmethod
    def _convert(cls, name: str, spec: Field, value: object) -> Any:
        checks = cls._validators.get(name, [])
        for mode, check in checks:
            if mode == "before":
                value = check(value)
        kind, optional = cls._types[name]
        if not (optional and value is None):
            value = _CONVERTERS[kind](value)
            _check_bounds(spec, value)
        for mode, check in checks:
            if mode == "after":
                value = check(value)
        return value

    def model_copy(self, *, update: dict[str, Any] | None = None) -> Settings:
        """A copy with some values changed (not checked, as pydantic's model_copy)."""
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.__dict__.update(update or {})
        return copy

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.model_fields)
        return f"Settings({shown})"

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


def _declare(cls: type[Settings]) -> None:
    """Collect the fields (annotated class attributes) and their checks once, when the module loads."""
    fields: dict[str, Field] = {}
    types: dict[str, tuple[str, bool]] = {}
    for name, declared in cls.__annotations__.items():
        if name.startswith("_") or name == "model_fields" or declared.startswith("ClassVar"):
            continue
        parts = [part.strip() for part in declared.split("|")]
        types[name] = (next(part for part in parts if part != "None"), "None" in parts)
        default = cls.__dict__.get(name)
        fields[name] = default if isinstance(default, Field) else Field(default)
        if name in cls.__dict__:
            delattr(cls, name)
    validators: dict[str, list[tuple[str, Callable[[Any], Any]]]] = {}
    for attribute in list(vars(cls).values()):
        marked = getattr(getattr(attribute, "__func__", None), "__validates__", None)
        if marked is not None:
            names, mode = marked
            for name in names:
                validators.setdefault(name, []).append((mode, getattr(cls, attribute.__func__.__name__)))
    cls.model_fields, cls._types, cls._validators = fields, types, validators


def _check_bounds(spec: Field, value: Any) -> None:
    if spec.gt is not None and not value > spec.gt:
        raise _Invalid("greater_than", gt=spec.gt)
    if spec.ge is not None and not value >= spec.ge:
        raise _Invalid("greater_than_equal", ge=spec.ge)
    if spec.le is not None and not value <= spec.le:
        raise _Invalid("less_than_equal", le=spec.le)


def _read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of a ``.env`` file (keys lower-cased, as the environment's); none if absent."""
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {key.lower(): value for key, value in dotenv_values(path, encoding="utf-8").items() if value is not None}


_declare(Settings)


def load_settings(**overrides: Any) -> Settings:
    """Read settings; on a wrong value raise :class:`ConfigError` with one clear line per setting."""
    return Settings(**overrides)


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


def config_error_text(errors: list[tuple[str, _Invalid, object]]) -> str:
    """One Vietnamese line per wrong setting, naming it (QTBOT_...); a secret's value is never shown."""
    lines: dict[str, str] = {}
    for field, error, given in errors:
        if field in lines:
            continue
        value = given if error.input is None else error.input
        kind = error.kind
        if kind == "value_error":
            message = error.message
        else:
            context = {k: _number(v) for k, v in error.context.items()}
            message = _ERROR_TYPES.get(kind, "giá trị không hợp lệ").format(**context)
            secret = any(word in field for word in _SECRET_WORDS)
            if not secret and isinstance(value, str | int | float) and len(str(value)) <= 60:
                message += f" (đang là “{value}”)"
        lines[field] = f"Cấu hình sai: QTBOT_{field.upper()}: {message}"
    return "\n".join(lines.values())
