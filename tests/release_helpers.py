"""A release read from a file into a Release row (no database), and the settings the rendering
tests share; the `sample` fixture reaches every test through conftest's pytest_plugins."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from distribute.config import Settings
from distribute.models import Release
from distribute.releases.rendering import CompiledMessage
from distribute.releases.store import read_release

from conftest import REPO


SETTINGS = Settings(secret_key="test-secret-key-for-distribute-tests", base_url="https://press.example.org", sender="Press Office <press@example.org>")


def make_release(path: Path, title: str | None = None, **overrides) -> Release:
    draft = read_release(path, zone=ZoneInfo("UTC"), title=title)
    fields = vars(draft) | overrides
    return Release(id=7, slug="a-release", **fields)


@pytest.fixture
def sample() -> Release:
    return make_release(REPO / "samples" / "release.md")


def parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)


MARKER = "DXfeed42"


def compiled(html: str, text: str = "") -> CompiledMessage:
    return CompiledMessage(release_id=1, variant="journalist", language="en", subject="S",
                           html=f"<html><body>{html}</body></html>", text=text, reply_to=None, reply_to_name=None,
                           marker=MARKER)
