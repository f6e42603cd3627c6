"""The settings as admins read them: secrets and passwords in URLs masked, defaults marked."""

from __future__ import annotations

import pytest

from distribute.config import Settings
from distribute.errors import Forbidden
from distribute.services.actor import ADMIN, COMMS, Actor
from distribute.services.settings import MASK, describe


def test_secrets_and_url_passwords_are_masked_and_defaults_marked(tmp_path):
    settings = Settings(database_url="postgresql://app:db-pass-123@db:5432/distribute", secret_key="k" * 40,
                        smtp_url="smtp://user:smtp-pass-456@relay.example.org:587", broker_url="redis://redis:6379/0",
                        bounce_mailbox="imaps://bounces:imap-pass-789@mail.example.org/INBOX",
                        postmark_password="pm-pass-000", outbox_dir=tmp_path)
    rows = {row["name"]: row for row in describe(Actor("a", ADMIN, 1, "web"), settings)}
    shown = " ".join(row["value"] for row in rows.values())
    for secret in ("k" * 40, "db-pass-123", "smtp-pass-456", "imap-pass-789", "pm-pass-000"):
        assert secret not in shown
    assert rows["DISTRIBUTE_SECRET_KEY"]["value"] == MASK and rows["DISTRIBUTE_SECRET_KEY"]["set"]
    assert rows["DISTRIBUTE_DATABASE_URL"]["value"] == f"postgresql+psycopg://app:{MASK}@db:5432/distribute"
    assert rows["DISTRIBUTE_BROKER_URL"]["value"] == "redis://redis:6379/0"
    assert rows["DISTRIBUTE_TIMEZONE"] == {"name": "DISTRIBUTE_TIMEZONE", "value": "UTC", "set": False, "secret": False}


def test_only_admins_read_the_settings():
    with pytest.raises(Forbidden):
        describe(Actor("c", COMMS, 2, "web"), Settings(secret_key="k" * 40))
