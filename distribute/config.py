"""Settings, read from the environment in one place (prefix DISTRIBUTE_) and passed on.

With nothing set, everything is embedded: a SQLite file and a file outbox in the working
directory. Production sets DISTRIBUTE_DATABASE_URL, DISTRIBUTE_BROKER_URL, DISTRIBUTE_SMTP_URL,
DISTRIBUTE_BASE_URL and DISTRIBUTE_SECRET_KEY.

An empty variable means unset (compose files pass `VAR: ''` for "not given"). A bad value is
refused when the settings are read, in one line that names the variable and what it expects,
so every entry point (the CLI, the Celery worker and beat, the web app) stops before it starts.
"""

from __future__ import annotations

import secrets
from email.utils import parseaddr
from functools import cached_property
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from distribute.errors import ConfigError  # noqa: F401 — distribute.config.ConfigError, as before

ENV_PREFIX = "DISTRIBUTE_"
# Secrets that ship in examples and compose files: a key everyone knows signs nothing.
PLACEHOLDER_SECRETS = frozenset({
    "change-me-in-production", "change-me", "changeme", "change_me", "secret", "secret-key", "secretkey",
    "your-secret-key", "your_secret_key", "please-change-me", "replace-me", "password", "xxx", "todo",
})
MIN_SECRET_LENGTH = 32  # in production: 32 random characters are out of reach of a brute force


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", env_ignore_empty=True)

    database_url: str = "sqlite:///distribute.db"
    broker_url: str | None = None
    smtp_url: str | None = None
    outbox_dir: Path = Path("outbox")
    # Public address of the web app: unsubscribe and web-version links are built on it.
    base_url: str = "http://localhost:8000"
    # Address of the staff app (`distribute staff`): password-reset links are built on it.
    staff_url: str = "http://localhost:8001"
    # HMAC key for every link token. Embedded mode keeps a generated one in distribute.secret.
    secret_key: str | None = None
    secret_file: Path = Path("distribute.secret")
    sender: str = "Press Office <press@example.org>"
    organisation: str = "Example Advocacy Network"
    postal_address: str = "1 Example Street, Washington, DC 20001, USA"
    timezone: str = "UTC"

    # Delivery pipeline.
    batch_size: int = Field(100, ge=1, le=10_000)  # delivery ids per broker message
    # Batches of one campaign on the broker at once; more are added as workers finish them, so
    # a million-recipient campaign never floods the broker and leases stay meaningful.
    batches_in_flight: int = Field(20, ge=1, le=10_000)
    # How long a claim (or a queued row's place on the broker) holds before the reconciler takes
    # the row back. Longer than a batch takes to send; short in tests.
    lease_seconds: float = Field(300, gt=0)
    sweep_seconds: float = Field(10, gt=0)  # how often the scheduler and reconciler run
    retry_base_seconds: float = Field(60, ge=0)  # first retry after a 4xx; doubles each time
    retry_max_seconds: float = Field(3600, ge=0)
    delivery_lifetime_seconds: float = Field(2 * 86400, gt=0)  # then a deferred delivery ends failed
    # A relay that cannot be reached (refused, timed out, 421) holds a campaign, not its
    # recipients: it is tried again after as long as it has been down, between 2 s and this …
    relay_retry_max_seconds: float = Field(60, gt=0)
    # … until it has been down this long; then the campaign pauses for a person to look.
    relay_wait_limit_seconds: float = Field(6 * 3600, gt=0)
    # The circuit breaker pauses a campaign whose bounce or error rate passes these after a sample
    # of recipients' replies (a relay that is down is not one).
    breaker_min_sample: int = Field(200, ge=1)
    breaker_bounce_rate: float = Field(0.05, gt=0, le=1)
    breaker_error_rate: float = Field(0.20, gt=0, le=1)
    # Send rate, shared by every worker through Redis in production (unset: unlimited).
    rate_per_second: float | None = Field(None, gt=0)
    rate_per_domain: float | None = Field(None, gt=0)
    rate_domain_overrides: str = ""  # "gmail.com=5,yahoo.com=2"
    # Redis redelivers a task not acknowledged within this time (tasks ack after they finish).
    visibility_timeout_seconds: float = Field(3600, gt=0)
    embedded_workers: int = Field(2, ge=1, le=32)  # worker threads in the embedded mode

    # What comes back. Bounces go to a VERP address made from this one ("bounces+TOKEN@…");
    # unset, it is "bounces@" the sender's domain.
    bounce_address: str | None = None
    # Where asynchronous bounces and complaints arrive: imap(s)://user:pass@host/INBOX, or a
    # Maildir or mbox path. Polled by the scheduler (every 30 s at most); unset, nothing is polled.
    bounce_mailbox: str | None = None
    # A message in that mailbox larger than this is not read, only counted as ignored ("too-big"):
    # anyone can mail the bounce address, and a bounce of ours (a report with our ~10 KB message
    # returned) is far smaller.
    bounce_max_bytes: int = Field(1_000_000, ge=10_000)
    # Soft bounces (mailbox full, expired …) suppress an address after this many campaigns in a row.
    soft_bounce_campaigns: int = Field(3, ge=1, le=100)
    track_by_default: bool = True  # `send --track/--no-track` decides per campaign
    # The largest request body the web app reads; a larger one is a 413 before anything reads it.
    # A setting because ESPs batch webhook events (SendGrid posts many in one request).
    max_request_bytes: int = Field(1024 * 1024, ge=1024)
    # Proxies in front of the web app (a TLS terminator: 1) whose X-Forwarded-For is trusted.
    proxy_hops: int = Field(0, ge=0, le=5)
    # The ESP the SMTP relay belongs to, if any: messages then carry its metadata header with the
    # delivery's reference, so its webhook events (opens, complaints …) match their delivery.
    esp: Literal["", "ses", "sendgrid", "mailgun", "postmark"] = ""
    # An open fetched this soon after delivery is a security scanner's, not a person's.
    machine_open_seconds: float = Field(10, ge=0)
    # Raw tracking data (IP, user agent, provider payloads) is purged from events after this.
    retention_days: int = Field(90, ge=1)
    # ESP webhooks. A provider whose secret is not set has every webhook refused.
    sendgrid_public_key: str | None = None
    mailgun_signing_key: str | None = None
    postmark_username: str | None = None
    postmark_password: str | None = None
    sns_topic_arns: str = ""  # comma-separated; empty: SES webhooks are refused (AWS signs any account's topic)
    # DKIM: with a selector and a key (PEM text or a file; `distribute dkim keygen` makes one),
    # every message is signed for the domain (unset: the sender's). See distribute.transport.dkim.
    dkim_selector: str | None = None
    dkim_domain: str | None = None
    dkim_private_key: str | None = None
    dkim_private_key_file: Path | None = None

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        expected = "expected postgresql+psycopg://user:password@host:5432/name or sqlite:///distribute.db"
        try:
            url = make_url(value.strip())
        except ArgumentError:
            raise ValueError(f"not a database URL; {expected}") from None
        # The URLs hosting providers hand out name no driver; psycopg 3 is the one installed.
        if url.drivername in ("postgres", "postgresql"):
            url = url.set(drivername="postgresql+psycopg")
        if url.get_backend_name() not in ("postgresql", "sqlite"):
            raise ValueError(f"unsupported database {url.get_backend_name()!r}; {expected}")
        return url.render_as_string(hide_password=False)

    @field_validator("broker_url")
    @classmethod
    def _broker_url(cls, value: str | None) -> str | None:
        if value is None:  # BaseSettings validates the defaults too: unset, kombu is not loaded
            return None
        from kombu.transport import TRANSPORT_ALIASES  # here: a command that needs no broker starts without kombu

        if value.partition("://")[0].lower() not in TRANSPORT_ALIASES:
            raise ValueError("expected a Celery broker URL such as redis://host:6379/0")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        if value is not None:
            from distribute.transport.smtp_url import parse_smtp_url  # it raises UserError naming the variable

            try:
                parse_smtp_url(value)
            except Exception as exc:  # noqa: BLE001 — its message is the one to show
                raise ValueError(str(exc).removeprefix(f"{ENV_PREFIX}SMTP_URL: ")) from None
        return value

    @field_validator("base_url", "staff_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("sender")
    @classmethod
    def _sender_has_address(cls, value: str) -> str:
        if "@" not in parseaddr(value)[1]:
            raise ValueError("expected an address such as 'Press Office <press@example.org>'")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone; expected a name such as Europe/Paris or UTC") from None
        return value

    @field_validator("dkim_selector", "dkim_domain")
    @classmethod
    def _dkim_name(cls, value: str | None, info) -> str | None:
        if value is None:  # unset (the defaults are validated too): the signer and cryptography are not loaded
            return None
        from distribute.transport.dkim import dns_name

        return dns_name(value, info.field_name.removeprefix("dkim_"))

    @field_validator("dkim_private_key", "dkim_private_key_file")
    @classmethod
    def _dkim_key(cls, value: str | Path | None) -> str | Path | None:
        if value is None:
            return None
        from distribute.transport.dkim import load_key, load_key_file  # it raises a ValueError saying what is wrong

        load_key_file(value) if isinstance(value, Path) else load_key(value)
        return value

    def check_runnable(self) -> None:
        """Refuse what cannot work anywhere it would run: production without a secret, or with
        one that everybody knows, or half a DKIM configuration. (Formats are checked as the
        settings are read.)"""
        if self.dkim_selector or self.dkim_domain or self.dkim_private_key or self.dkim_private_key_file:
            from distribute.transport.dkim import settings_problem  # with cryptography: only when DKIM is set

            if problem := settings_problem(self):
                raise ConfigError(problem)
        key = (self.secret_key or "").strip()
        if key and (key.lower() in PLACEHOLDER_SECRETS or "change-me" in key.lower()):
            raise ConfigError(f"{ENV_PREFIX}SECRET_KEY is a placeholder ({key!r}): anyone could forge links signed "
                              "with it; set it to a random value, e.g. from `openssl rand -base64 32`")
        if self.embedded:
            return
        if not key:
            raise ConfigError(f"{ENV_PREFIX}SECRET_KEY is required when {ENV_PREFIX}DATABASE_URL is not SQLite: "
                              "set it to a random value, e.g. from `openssl rand -base64 32`")
        if len(key) < MIN_SECRET_LENGTH:
            raise ConfigError(f"{ENV_PREFIX}SECRET_KEY is {len(key)} characters long: use at least "
                              f"{MIN_SECRET_LENGTH} random ones, e.g. from `openssl rand -base64 32`")

    @property
    def embedded(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def sender_name(self) -> str:
        return parseaddr(self.sender)[0]

    @property
    def sender_address(self) -> str:
        return parseaddr(self.sender)[1]

    @property
    def sender_domain(self) -> str:
        return self.sender_address.rpartition("@")[2].lower()

    @property
    def bounce_mailbox_address(self) -> str:
        return parseaddr(self.bounce_address)[1] if self.bounce_address else f"bounces@{self.sender_domain}"

    @cached_property
    def secret(self) -> str:
        if self.secret_key:
            return self.secret_key
        if not self.embedded:
            raise ConfigError("DISTRIBUTE_SECRET_KEY is required when DISTRIBUTE_DATABASE_URL is not SQLite")
        # Embedded mode: a key made once and kept beside the database, so links stay valid.
        if self.secret_file.exists():
            return self.secret_file.read_text().strip()
        key = secrets.token_urlsafe(32)
        self.secret_file.write_text(key + "\n")
        self.secret_file.chmod(0o600)
        return key


def load_settings() -> Settings:
    """The settings from the environment, or a ConfigError whose one line says what is wrong."""
    try:
        settings = Settings()
    except ValidationError as exc:
        raise ConfigError(describe(exc)) from None
    settings.check_runnable()
    return settings


def describe(error: ValidationError) -> str:
    """pydantic's report as one line per variable: the name, the value given, what is expected."""
    parts = []
    for e in error.errors(include_url=False):
        name = ENV_PREFIX + "_".join(str(part) for part in e["loc"]).upper()
        message = e["msg"].removeprefix("Value error, ")
        value = e.get("input")
        given = f"={value!r}" if isinstance(value, (str, int, float)) and "SECRET" not in name and "PASSWORD" not in name \
            and "KEY" not in name and "URL" not in name else ""
        parts.append(f"{name}{given}: {message[0].lower() + message[1:]}")
    return "; ".join(parts)
