"""What the staff app's tests share (fixtures in tests/web/staff/conftest.py and tests/api/conftest.py):
the app served on a free port against the test PostgreSQL, users of each role, the sign-in form,
screenshots to tests/artifacts/.

Playwright drives Debian's /usr/bin/chromium (`apt-get install chromium`; .ci/run does it): it
never downloads a browser.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import make_server

from conftest import REPO
from distribute.config import Settings
from distribute.db import make_engine
from distribute.models import Base
from distribute.services import users
from distribute.services.actor import operator

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "tests" / "artifacts"
PASSWORD = "correct horse battery staple"
SECRET = "test-secret-key-for-distribute-tests"


@dataclass
class Staff:
    url: str
    app: object
    settings: Settings
    sessions: sessionmaker[Session]
    users: dict[str, str] = field(default_factory=dict)  # email -> password

    def add_user(self, role: str, email: str | None = None, name: str = "",
                 password: str | None = PASSWORD) -> tuple[str, str | None]:
        """A user of that role; password=None makes one without (no argon2 hash: fast)."""
        email = email or f"{role}{len(self.users) + 1}@example.org"
        with self.sessions.begin() as session:
            users.add_user(session, operator(), email, role=role, name=name or f"{role.title()} User",
                           password=password)
        self.users[email] = password
        return email, password


def staff_settings(url: str, tmp_path: Path, **overrides) -> Settings:
    return Settings(database_url=url, secret_key=SECRET, outbox_dir=tmp_path / "outbox",
                    base_url="https://press.example.org", staff_url="http://127.0.0.1", **overrides)


def truncate(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(t.name for t in Base.metadata.sorted_tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


class Served:
    """A WSGI app on 127.0.0.1:<free port> in a thread, until stop()."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(10)


def sign_in_as(page, email: str, password: str = PASSWORD) -> None:
    """Sign in through the form (the page already at /login keeps its ?next=)."""
    if "/login" not in page.url:
        page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def shot(page, name: str) -> Path:
    """A full-page screenshot to tests/artifacts/NAME.png, for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
