"""The staff app on a real socket against the test PostgreSQL, and headless Chromium signed in.

- `staff`: the app served by werkzeug in a thread on a free port (fresh tables each test), with
  `staff.url`, `staff.sessions`, `staff.settings` and `staff.add_user(role)` -> (email, password).
- `new_page(width)`: a page in a fresh browser context (no cookies); `sign_in(role, width)`: one
  signed in through the login form as a new user of that role (`page.email`); `admin_page`,
  `comms_page`, `viewer_page` are that for each role.
- `shot(page, name)` (from staff_helpers): a full-page screenshot to tests/artifacts/NAME.png.
"""

from __future__ import annotations

import os

import pytest

from distribute.db import make_sessionmaker
from staff_helpers import CHROMIUM, Served, Staff, sign_in_as, staff_settings, truncate


@pytest.fixture
def staff(pg_url, tmp_path):
    from distribute.web.staff import create_app

    truncate(pg_url)
    settings = staff_settings(pg_url, tmp_path)
    app = create_app(settings)
    served = Served(app)
    state = app.extensions["distribute_staff"]
    yield Staff(served.url, app, settings, make_sessionmaker(state.engine))
    served.stop()
    state.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser, staff):
    """new_page(width=1280): a page in a fresh context (no cookies), closed after the test."""
    contexts = []

    def make(width: int = 1280, height: int = 900):
        context = browser.new_context(viewport={"width": width, "height": height}, base_url=staff.url)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def sign_in(staff, new_page):
    """sign_in(role, width=1280) -> a page signed in as a new user of that role (page.email)."""
    def make(role: str, width: int = 1280, **user):
        email, password = staff.add_user(role, **user)
        page = new_page(width)
        sign_in_as(page, email, password)
        assert page.url.rstrip("/") == staff.url, f"sign-in as {role} failed: {page.url}"
        page.email = email
        return page

    return make


@pytest.fixture
def admin_page(sign_in):
    return sign_in("admin")


@pytest.fixture
def comms_page(sign_in):
    return sign_in("comms")


@pytest.fixture
def viewer_page(sign_in):
    return sign_in("viewer")


