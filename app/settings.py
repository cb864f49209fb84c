"""One Settings object, read from the environment (prefix CREDITDESK_) or a `.env` file."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "secret", "password", "placeholder", "xxx", "todo", "test"}
)


class PackSpec(BaseModel):
    """One entry of the credit-pack catalogue."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    credits: int = Field(gt=0, le=10_000)
    price: int = Field(ge=0, description="integer minor units (cents)")
    valid_days: int | None = Field(default=None, gt=0)


DEFAULT_PACKS = [
    PackSpec(code="single", credits=1, price=3000),
    PackSpec(code="five", credits=5, price=10000),
    PackSpec(code="thirty", credits=30, price=30000),
]

DEFAULT_MEANINGLESS_SUBJECTS = [
    "help", "help me", "question", "urgent", "problem", "issue", "support", "hello", "hi",
    "error", "bug", "please help", "asap", "no subject", "request", "important",
    "вопрос", "проблема", "помогите", "помощь", "срочно", "ошибка", "здравствуйте",
    "привет", "без темы", "обращение", "заявка", "важно",
]  # fmt: skip


# The engine the service runs on, by SQLAlchemy driver name: PostgreSQL through asyncpg.
DATABASE_DRIVERS = ("postgresql+asyncpg",)


def check_database_url(value: str) -> str:
    """`value` if it is a database URL the service can use, else ValueError with the reason:
    parseable, a supported async driver, a port in range. Said at load, as one line, rather
    than as a trace from deep inside the first connection. The message never repeats the
    URL (it may carry a password)."""
    try:
        url = make_url(value)
    except ArgumentError:
        raise ValueError(
            "not a database URL (expected postgresql+asyncpg://user@host:port/name)"
        ) from None
    except ValueError:  # SQLAlchemy's int() of the port
        raise ValueError("the port is not a number") from None
    if url.drivername not in DATABASE_DRIVERS:
        raise ValueError(
            f"the driver {url.drivername!r} is not supported; use "
            + " or ".join(f"{name}://" for name in DATABASE_DRIVERS)
        )
    if url.port is not None and not 0 < url.port < 65536:
        raise ValueError(f"the port {url.port} is out of range (1-65535)")
    if url.drivername == "postgresql+asyncpg":
        _check_asyncpg_parameters(url.query)
    return value


def _check_asyncpg_parameters(query: Mapping[str, object]) -> None:
    """URL parameters become asyncpg.connect's keywords; libpq's own (`sslmode`, copied
    from a psql DSN) would fail every connection with a TypeError."""
    import asyncpg  # only here: settings load without the driver's import otherwise

    takes = set(inspect.signature(asyncpg.connect).parameters) | {"prepared_statement_cache_size"}
    for name in query:
        if name not in takes:
            hint = " (for TLS: ssl=require)" if name == "sslmode" else ""
            raise ValueError(f"the URL parameter {name!r} is not one asyncpg takes{hint}")


class Settings(BaseSettings):
    """Every setting of the service. See README, "Configuration"."""

    model_config = SettingsConfigDict(
        env_prefix="CREDITDESK_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Literal["development", "test", "production"] = "development"
    # Tests only (env=test): the process's clock runs from this moment (app.kit.clock).
    clock_start: AwareDatetime | None = None
    # None: the embedded PostgreSQL in `embedded_dir` (app.kit.embedded), started on demand
    database_url: str | None = None
    embedded_dir: Path = Path(".creditdesk/postgres")
    database_pool_size: int = Field(default=10, ge=1, le=200)
    # Connections opened beyond the pool under load (closed when returned); None: as many
    # again as the pool. 0 makes the pool a fixed size: requests queue for a connection.
    database_max_overflow: int | None = Field(default=None, ge=0, le=200)
    # How long a request waits for a pooled connection before answering 503
    database_pool_timeout: float = Field(default=30.0, gt=0, le=600)
    database_echo: bool = False
    # A PostgreSQL read replica for the finance exports and the reports (docs/operations.md)
    read_replica_url: str | None = None

    bootstrap_admin_key: SecretStr | None = None
    log_level: str = "INFO"
    log_json: bool = True
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    body_read_timeout_seconds: float = Field(default=30.0, gt=0)
    metrics_token: SecretStr | None = None
    docs_enabled: bool | None = None  # /docs, /redoc, /openapi.json; default: not in production
    idempotency_retention_hours: int = Field(default=48, ge=24)
    periodic_interval_seconds: float = Field(default=60.0, gt=0)
    periodic_tasks_enabled: bool = True

    rate_limit_enabled: bool | None = None  # default: on, except with env=test
    rate_limit_window_seconds: int = Field(default=60, ge=1, le=3600)
    rate_limit_per_key: int = Field(default=600, ge=1, description="requests per window")
    rate_limit_per_address: int = Field(default=1200, ge=1, description="requests per window")
    rate_limit_auth_failures: int = Field(default=20, ge=1, description="401s per window")

    verify_max_attempts: int = Field(default=5, ge=1)
    verify_lockout_minutes: int = Field(default=15, ge=1)

    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    packs: list[PackSpec] = Field(default_factory=lambda: list(DEFAULT_PACKS))
    reward_threshold_cents: int = Field(default=10_000, gt=0)
    export_max_days: int = Field(default=400, ge=1, description="longest finance-export period")

    # VAT and the books (docs/exports.md): pack prices include VAT at `vat_rate`.
    vat_rate: Decimal = Field(default=Decimal(0), ge=0, lt=1, max_digits=6, decimal_places=4)
    books_timezone: str = "Europe/Berlin"
    account_chart: Literal["generic", "skr03", "skr04"] = "generic"
    account_map_file: Path | None = None
    xero_tax_rate: str = Field(default="Tax Exempt", min_length=1, max_length=50)
    quickbooks_date_format: Literal["MM/DD/YYYY", "DD/MM/YYYY"] = "MM/DD/YYYY"
    datev_adviser_number: int = Field(default=1001, ge=1001, le=9_999_999)
    datev_client_number: int = Field(default=1, ge=1, le=99_999)
    datev_fiscal_year_start_month: int = Field(default=1, ge=1, le=12)
    datev_account_length: int = Field(default=4, ge=4, le=8)

    stripe_secret_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_api_base: str | None = None
    stripe_webhook_tolerance_seconds: int = Field(default=300, ge=1)

    duplicate_window_minutes: int = Field(default=10, ge=0)
    # A submission's common case in one statement (app.desk.fast_submit); off, every
    # submission takes the general path. Same answers either way.
    fast_submit: bool = True
    reopen_window_days: int = Field(default=14, ge=0)
    sla_compensation_enabled: bool = False  # a missed first response refunds the credit
    subject_min_length: int = Field(default=2, ge=1)  # "DNS", "ЛК" say enough
    subject_max_length: int = Field(default=200, ge=10)
    body_max_length: int = Field(default=50_000, ge=100)
    meaningless_subjects: list[str] = Field(
        default_factory=lambda: list(DEFAULT_MEANINGLESS_SUBJECTS)
    )
    subject_min_content_words: int = Field(default=1, ge=0, description="0 turns it off")
    version_support_days: int = Field(default=180, ge=0, description="seed 002")
    calls_per_day: int = Field(default=3, ge=1, description="seed 000")
    call_max_minutes: int = Field(default=15, ge=1, description="seed 000")
    change_hours_per_month: float = Field(default=10, ge=0, le=744, description="seed 001")
    change_over_allowance: Literal["refuse", "charge"] = "refuse"
    change_hour_credits: int = Field(default=1, ge=0, description="per started hour beyond")
    expected_completion_hours: float = Field(default=3, gt=0, description="seed 000")

    # E-mail channel (docs/email.md): receiving address → line; default customer relations.
    email_routes: dict[str, Literal["customer_relations", "technical"]] = Field(
        default_factory=dict
    )
    email_default_line: Literal["customer_relations", "technical"] = "customer_relations"
    email_from_address: str = "support@creditdesk.localhost"
    email_follow_url: str | None = None
    # None: no relay configured; outgoing mail is kept (pending) and not attempted
    email_smtp_host: str | None = None
    email_smtp_port: int = Field(default=25, ge=1, le=65535)
    email_smtp_starttls: bool = False
    email_smtp_username: str | None = None
    email_smtp_password: SecretStr | None = None
    email_smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    email_listen_host: str = "127.0.0.1"
    email_listen_port: int = Field(default=2525, ge=0, le=65535)
    email_max_message_bytes: int = Field(default=10_485_760, ge=1024)
    email_max_attachment_bytes: int = Field(default=5_242_880, ge=1)
    email_max_attachments: int = Field(default=20, ge=0)
    email_max_headers: int = Field(default=1_000, ge=20)
    email_max_header_bytes: int = Field(default=32_768, ge=998)
    email_max_encoded_words: int = Field(default=200, ge=1, le=2_000)
    email_max_mime_depth: int = Field(default=20, ge=1, le=100)
    email_max_mime_parts: int = Field(default=200, ge=1, le=500)
    email_parse_concurrency: int = Field(default=2, ge=1, le=64)
    email_reply_limit: int = Field(default=5, ge=1, description="replies per sender per window")
    email_reply_window_minutes: int = Field(default=60, ge=1)
    email_notify_staff_replies: bool = True
    email_outbox_batch: int = Field(default=50, ge=1)
    email_outbox_lease_seconds: int = Field(default=300, ge=10)
    email_outbox_backoff_seconds: int = Field(default=30, ge=1)
    email_outbox_backoff_max_seconds: int = Field(default=3600, ge=1)
    email_outbox_max_attempts: int = Field(default=30, ge=1)
    # Events and outbound webhooks (docs/webhooks.md)
    events_retention_days: int = Field(default=30, ge=30)
    webhook_allow_private: bool | None = Field(
        default=None,
        description="deliver to loopback/private addresses; default: yes except in production",
    )
    webhook_send_interval_seconds: float = Field(default=1.0, gt=0)
    webhook_batch: int = Field(default=200, ge=1, le=5000)
    webhook_concurrency: int = Field(default=16, ge=1, le=256)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_lease_seconds: int = Field(default=120, ge=10)
    webhook_backoff_seconds: int = Field(default=30, ge=1)
    webhook_backoff_max_seconds: int = Field(default=14_400, ge=1)
    webhook_retry_hours: float = Field(default=72.0, ge=24)
    webhook_disable_after_hours: float = Field(default=72.0, gt=0)

    # The cabinet and portal sessions (docs/cabinet.md).
    portal_session_minutes: int = Field(default=60, ge=1, le=1440)
    console_session_minutes: int = Field(default=480, ge=1, le=1440)  # docs/console.md
    cabinet_url: str | None = None  # where portal-session links point; default: this server
    cors_origins: list[str] = Field(default_factory=list)
    stripe_publishable_key: str | None = None
    low_balance_threshold: int | None = Field(default=None, ge=0, le=100_000)

    # Receipts (docs/cabinet.md): the seller printed on every receipt.
    receipt_seller_name: str = "CreditDesk"
    receipt_seller_address: str = ""
    receipt_seller_tax_id: str | None = None
    receipt_font_path: str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

    # Customer mail notices (docs/notices.md): CREDITDESK_NOTICES_*.
    notices: NoticeSettings = Field(default_factory=lambda: NoticeSettings())

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env != "production":
            return self
        problems = []
        for name in ("bootstrap_admin_key", "stripe_secret_key", "stripe_webhook_secret"):
            value: SecretStr | None = getattr(self, name)
            if value is not None and _is_placeholder(value.get_secret_value()):
                problems.append(f"CREDITDESK_{name.upper()} holds a placeholder value")
        if self.stripe_secret_key is None:
            problems.append(
                "the offline payment provider is refused in production: "
                "set CREDITDESK_STRIPE_SECRET_KEY"
            )
        elif self.stripe_webhook_secret is None:
            problems.append("CREDITDESK_STRIPE_WEBHOOK_SECRET is required in production")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _clock_start_only_in_tests(self) -> Settings:
        if self.clock_start is not None and self.env != "test":
            raise ValueError("CREDITDESK_CLOCK_START is for tests: it needs CREDITDESK_ENV=test")
        return self

    @property
    def webhooks_may_reach_private(self) -> bool:
        if self.webhook_allow_private is not None:
            return self.webhook_allow_private
        return self.env != "production"

    @field_validator("database_url")
    @classmethod
    def _usable_database_url(cls, value: str | None) -> str | None:
        # None: the embedded server (app.kit.embedded)
        return None if value is None else check_database_url(value)

    @field_validator("read_replica_url")
    @classmethod
    def _replica_is_postgres(cls, value: str | None) -> str | None:
        # The message never repeats the value: the URL may carry a password.
        if value is not None and not value.startswith("postgresql+asyncpg://"):
            raise ValueError("must be a postgresql+asyncpg:// URL")
        return value

    @model_validator(mode="after")
    def _unique_pack_codes(self) -> Settings:
        codes = [p.code for p in self.packs]
        if len(codes) != len(set(codes)):
            raise ValueError("pack codes must be unique")
        return self

    @model_validator(mode="after")
    def _known_books_timezone(self) -> Settings:
        try:
            ZoneInfo(self.books_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.books_timezone!r}") from None
        return self

    @property
    def books_zone(self) -> ZoneInfo:
        return ZoneInfo(self.books_timezone)

    @cached_property
    def payment_provider(self) -> Literal["stripe", "offline"]:
        return "offline" if self.stripe_secret_key is None else "stripe"

    @property
    def serves_docs(self) -> bool:
        return self.docs_enabled if self.docs_enabled is not None else self.env != "production"

    @property
    def rate_limits_on(self) -> bool:
        if self.rate_limit_enabled is not None:
            return self.rate_limit_enabled
        return self.env != "test"


def _is_placeholder(value: str) -> bool:
    lowered = value.strip().lower()
    return lowered in PLACEHOLDER_SECRETS or "placeholder" in lowered or "changeme" in lowered


class ConfigurationError(ValueError):
    """A refused configuration, described by setting and reason only: never the values,
    which may be secrets (pydantic's own message repeats the input, and for a whole-model
    check that input is every setting, passwords included)."""


def settings_from_env(**overrides: Any) -> Settings:
    """`Settings()` from the environment, or ConfigurationError without the values (and
    without the original exception chained, so no traceback shows them either)."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_input=False, include_url=False):
            where = "_".join(str(p) for p in error.get("loc", ()) if p != "__root__")
            name = f"CREDITDESK_{where.upper()}" if where else "configuration"
            problems.append(f"{name}: {error.get('msg', 'invalid')}")
        message = "; ".join(problems)
    except ValueError as exc:  # pydantic-settings' own parsing errors name the field only
        message = str(exc).split("\n", 1)[0]
    raise ConfigurationError(message)


class NoticeSettings(BaseSettings):
    """Customer mail notices (docs/notices.md), from CREDITDESK_NOTICES_*."""

    model_config = SettingsConfigDict(
        env_prefix="CREDITDESK_NOTICES_", env_file=".env", env_file_encoding="utf-8",
        extra="ignore",
    )  # fmt: skip

    enabled: bool = True
    # Warn of a lot's expiry this many days before it (each at most once per lot); a lot
    # found inside a smaller window first gets only that window's warning.
    expiry_warning_days: list[int] = Field(default_factory=lambda: [14, 1], max_length=5)
    # How far back the notices job looks for ticket events it has not noticed yet (below
    # the events' retention, CREDITDESK_EVENTS_RETENTION_DAYS).
    lookback_hours: int = Field(default=24, ge=1, le=24 * 29)
    batch: int = Field(default=200, ge=1, le=5000)

    @field_validator("expiry_warning_days")
    @classmethod
    def _days_in_range(cls, value: list[int]) -> list[int]:
        if any(not 1 <= days <= 365 for days in value):
            raise ValueError("each warning is 1 to 365 days before the expiry")
        return sorted(set(value))


Settings.model_rebuild()
