"""Settings, read from the environment in one place (prefix DISTRIBUTE_) and passed on.

With nothing set, everything is embedded: a SQLite file and a file outbox in the working
directory. Production sets DISTRIBUTE_DATABASE_URL, DISTRIBUTE_BROKER_URL, DISTRIBUTE_SMTP_URL,
DISTRIBUTE_BASE_URL and DISTRIBUTE_SECRET_KEY.
"""

from __future__ import annotations

import secrets
from email.utils import parseaddr
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DISTRIBUTE_", extra="ignore")

    database_url: str = "sqlite:///distribute.db"
    broker_url: str | None = None
    smtp_url: str | None = None
    outbox_dir: Path = Path("outbox")
    # Public address of the web app: unsubscribe and web-version links are built on it.
    base_url: str = "http://localhost:8000"
    # HMAC key for every link token. Embedded mode keeps a generated one in distribute.secret.
    secret_key: str | None = None
    secret_file: Path = Path("distribute.secret")
    sender: str = "Press Office <press@example.org>"
    organisation: str = "Example Advocacy Network"
    postal_address: str = "1 Example Street, Washington, DC 20001, USA"
    timezone: str = "UTC"

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("DISTRIBUTE_BASE_URL must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("sender")
    @classmethod
    def _sender_has_address(cls, value: str) -> str:
        if "@" not in parseaddr(value)[1]:
            raise ValueError("DISTRIBUTE_SENDER must be an address such as 'Press Office <press@example.org>'")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"DISTRIBUTE_TIMEZONE: unknown time zone {value!r}") from None
        return value

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
    try:
        return Settings()
    except ValueError as exc:  # pydantic's ValidationError names the field and why
        raise ConfigError(str(exc)) from None
