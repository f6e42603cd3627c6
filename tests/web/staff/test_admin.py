"""The admin pages in a real browser: users (add, password link once, role, deactivate), API
tokens (shown once, revoked), the audit log, the settings; none of it for viewers or comms."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from staff_helpers import SECRET, shot, sign_in_as

HOSTILE = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'


def _api(staff, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(staff.url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_an_admin_adds_a_user_who_sets_a_password_at_the_link_once(staff, admin_page, new_page):
    page = admin_page
    page.goto("/admin/users")
    page.get_by_label("Email").fill("new.person@example.org")
    page.get_by_label("Name").fill(HOSTILE)
    page.get_by_label("Role", exact=True).select_option("comms")
    page.get_by_role("button", name="Add user").click()
    link = page.locator("#reset-link").inner_text().strip()
    assert link.startswith(staff.settings.staff_url)
    expect(page.get_by_role("cell", name=HOSTILE)).to_be_visible()  # the name shown as text, not run
    assert page.evaluate("window.__xss") is None
    shot(page, "admin-users")
    page.goto("/admin/users")
    expect(page.locator("#reset-link")).to_have_count(0)  # shown once

    newcomer = new_page()
    newcomer.goto(link.removeprefix(staff.settings.staff_url))
    shot(newcomer, "reset-password")
    newcomer.get_by_label("New password", exact=True).fill("a new password 123")
    newcomer.get_by_label("New password again").fill("a new password 123")
    newcomer.get_by_role("button", name="Set password").click()
    expect(newcomer).to_have_url(re.compile("/login"))
    sign_in_as(newcomer, "new.person@example.org", "a new password 123")
    expect(newcomer.get_by_role("heading", name="Dashboard")).to_be_visible()

    again = new_page()
    again.goto(link.removeprefix(staff.settings.staff_url))
    assert "has been used or replaced" in again.get_by_role("alert").inner_text()


def test_an_admin_changes_a_role_and_deactivates_a_user(staff, admin_page):
    email, _ = staff.add_user("comms")
    page = admin_page
    page.goto("/admin/users")
    page.get_by_label(f"Role of {email}").select_option("viewer")
    page.get_by_role("button", name=f"Change role of {email}").click()
    expect(page.get_by_text(f"{email} is now viewer.")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Deactivate {email}").click()
    expect(page.get_by_text(f"{email} is deactivated")).to_be_visible()
    # the last admin cannot demote themself
    page.get_by_label(f"Role of {admin_page.email}").select_option("viewer")
    page.get_by_role("button", name=f"Change role of {admin_page.email}").click()
    expect(page.get_by_text("this is the last admin")).to_be_visible()


def test_a_token_is_shown_once_works_and_once_revoked_is_refused(staff, admin_page):
    page = admin_page
    page.goto("/admin/tokens")
    page.get_by_label("User").select_option(admin_page.email)
    page.get_by_label("What uses it").fill("website CMS")
    page.get_by_label("Role").select_option("viewer")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token").inner_text().strip()
    shot(page, "admin-tokens")
    assert _api(staff, token) == (200, {"name": admin_page.email, "role": "viewer", "user_id": 1})

    page.goto("/admin/tokens")
    assert page.locator("#new-token").count() == 0 and token not in page.content()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke website CMS").click()
    expect(page.get_by_text("is revoked")).to_be_visible()
    status, body = _api(staff, token)
    assert status == 401 and body["error"]["code"] == "unauthorized"


def test_the_audit_log_pages_back_and_the_settings_hide_secrets(staff, admin_page):
    for i in range(55):
        staff.add_user("viewer", email=f"v{i}@example.org", password=None)
    page = admin_page
    page.goto("/admin/audit")
    shot(page, "admin-audit")
    rows = page.locator("tbody tr")
    assert rows.count() == 50 and "v54@example.org" in rows.first.inner_text()
    page.get_by_role("link", name="Older entries").click()
    expect(page.locator("tbody tr")).to_have_count(6)  # 56 entries: 55 users and the admin
    page.goto("/admin/audit?action=user.add")
    expect(page.locator("tbody tr")).to_have_count(50)

    page.goto("/admin/settings")
    shot(page, "admin-settings")
    assert SECRET not in page.content()
    row = page.get_by_role("row", name="DISTRIBUTE_SECRET_KEY")
    assert "••••" in row.inner_text()


@pytest.mark.parametrize("role", ["viewer", "comms"])
def test_viewers_and_comms_cannot_open_the_admin_pages(staff, sign_in, role):
    page = sign_in(role)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Users")).to_have_count(0)
    for path in ("/admin/users", "/admin/tokens", "/admin/audit", "/admin/settings"):
        response = page.goto(path)
        assert response.status == 403, path
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    shot(page, f"forbidden-{role}")
    response = page.request.post(staff.url + "/admin/users", form={"email": "x@example.org", "role": "admin"})
    assert response.status in (400, 403)  # no CSRF token from another page: refused either way
