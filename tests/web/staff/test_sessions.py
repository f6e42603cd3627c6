"""Sessions end when they should: on a password change (everywhere but where it was changed), on
"sign out everywhere"; and the sign-in rate limit, counted in Redis by every app process."""

from __future__ import annotations

import re

import pytest
import redis
from playwright.sync_api import expect

from distribute.web.staff.limits import PER_ACCOUNT
from staff_helpers import PASSWORD, shot, sign_in_as, staff_settings, truncate

# A Redis database no other test file uses (the rate limiter's tests have 13, the replay tests 12);
# only the sign-in limiter's keys are cleared, before and after.
LIMIT_REDIS = "redis://127.0.0.1:6379/14"


def _clear_limits() -> None:
    client = redis.Redis.from_url(LIMIT_REDIS)
    keys = list(client.scan_iter(match="*distribute-staff*"))
    if keys:
        client.delete(*keys)
    client.close()
ATTEMPTS = int(PER_ACCOUNT.split()[0])


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(staff, new_page):
    email, _ = staff.add_user("comms")
    here, there = new_page(), new_page(390, 800)
    sign_in_as(here, email)
    sign_in_as(there, email)
    here.goto("/account/password")
    shot(here, "change-password")
    here.get_by_label("Current password").fill(PASSWORD)
    here.get_by_label("New password", exact=True).fill("another long password")
    here.get_by_label("New password again").fill("another long password")
    here.get_by_role("button", name="Change password").click()
    expect(here.get_by_text("Your password is changed")).to_be_visible()
    here.goto("/")
    expect(here.get_by_role("heading", name="Dashboard")).to_be_visible()
    there.goto("/")
    expect(there).to_have_url(re.compile("/login"))


def test_a_wrong_current_password_is_said_beside_its_field(staff, sign_in):
    page = sign_in("viewer")
    page.goto("/account/password")
    page.get_by_label("Current password").fill("not it at all")
    page.get_by_label("New password", exact=True).fill("another long password")
    page.get_by_label("New password again").fill("another long password")
    page.get_by_role("button", name="Change password").click()
    assert page.locator("#current_password-error").inner_text() == "the current password is wrong"


def test_sign_out_everywhere_ends_every_session(staff, new_page):
    email, _ = staff.add_user("viewer")
    one, two = new_page(), new_page()
    sign_in_as(one, email)
    sign_in_as(two, email)
    one.locator("header summary").click()
    one.get_by_role("button", name="Sign out everywhere").click()
    expect(one).to_have_url(re.compile("/login"))
    two.goto("/")
    expect(two).to_have_url(re.compile("/login"))


def _attempt(client, email: str, password: str) -> int:
    token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/login").data).group(1)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token.decode()}).status_code


@pytest.fixture
def two_processes(pg_url, tmp_path):
    """Two staff apps (as two gunicorn workers would be) sharing the Redis the broker URL names."""
    from distribute.services import users
    from distribute.services.actor import operator
    from distribute.web.staff import create_app

    _clear_limits()
    truncate(pg_url)
    apps = [create_app(staff_settings(pg_url, tmp_path, broker_url=LIMIT_REDIS)) for _ in range(2)]
    with apps[0].extensions["distribute_staff"].sessions.begin() as session:
        users.add_user(session, operator(), "target@example.org", role="admin", password=PASSWORD)
    yield [app.test_client() for app in apps]
    for app in apps:
        app.extensions["distribute_staff"].engine.dispose()
    _clear_limits()


def test_failed_sign_ins_are_counted_across_processes_then_refused(two_processes):
    a, b = two_processes
    for i in range(ATTEMPTS):
        assert _attempt((a, b)[i % 2], "Target@example.org", f"guess {i}") == 401
    # the next try is refused before the password is looked at, in either process, right or not
    assert _attempt(a, "target@example.org", PASSWORD) == 429
    assert _attempt(b, "target@example.org", PASSWORD) == 429
    # another account from the same address still signs in: the per-address allowance is larger
    assert _attempt(a, "other@example.org", "whatever it is") == 401


def test_a_good_sign_in_is_not_counted(two_processes):
    a, _ = two_processes
    for _ in range(ATTEMPTS + 2):
        assert _attempt(a, "target@example.org", PASSWORD) == 302
        a.post("/logout", data={})  # no token: refused, but the next sign-in replaces the session anyway


def test_with_redis_down_sign_in_still_works_and_is_still_limited(pg_url, tmp_path):
    from distribute.services import users
    from distribute.services.actor import operator
    from distribute.web.staff import create_app

    truncate(pg_url)
    app = create_app(staff_settings(pg_url, tmp_path, broker_url="redis://127.0.0.1:9/0"))  # nothing listens
    with app.extensions["distribute_staff"].sessions.begin() as session:
        users.add_user(session, operator(), "target@example.org", role="admin", password=PASSWORD)
    client = app.test_client()
    try:
        for i in range(ATTEMPTS):
            assert _attempt(client, "target@example.org", f"guess {i}") == 401
        assert _attempt(client, "target@example.org", PASSWORD) == 429
    finally:
        app.extensions["distribute_staff"].engine.dispose()
