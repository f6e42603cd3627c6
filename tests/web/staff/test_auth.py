"""Signing in and out of the staff app in a real browser."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from staff_helpers import PASSWORD, shot, sign_in_as


def test_sign_in_lands_on_the_dashboard_and_sign_out_ends_the_session(staff, new_page):
    email, _ = staff.add_user("comms")
    page = new_page()
    page.goto("/")
    expect(page).to_have_url(re.compile("/login"))  # every page needs a session
    shot(page, "login")
    sign_in_as(page, email)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    assert email in page.locator("header").inner_text()
    shot(page, "dashboard")

    page.locator("header summary").click()  # the account menu
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    expect(page).to_have_url(re.compile("/login"))
    page.goto("/")
    expect(page).to_have_url(re.compile("/login"))


def test_a_wrong_password_says_so_without_saying_which_part_was_wrong(staff, new_page):
    email, _ = staff.add_user("viewer")
    page = new_page()
    for tried_email, password in ((email, "not the password"), ("nobody@example.org", PASSWORD)):
        sign_in_as(page, tried_email, password)
        expect(page).to_have_url(re.compile("/login"))
        assert page.get_by_role("alert").inner_text().strip() == "Wrong email or password."
    shot(page, "login-wrong-password")


def test_sign_in_goes_back_to_the_page_asked_for_but_never_off_site(staff, new_page):
    email, _ = staff.add_user("viewer")
    page = new_page()
    page.goto("/account/password")
    expect(page).to_have_url(re.compile("next="))
    sign_in_as(page, email)
    expect(page).to_have_url(staff.url + "/account/password")

    for hostile in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        page = new_page()
        page.goto(f"/login?next={hostile}")
        sign_in_as(page, email)
        expect(page, hostile).to_have_url(staff.url + "/")
