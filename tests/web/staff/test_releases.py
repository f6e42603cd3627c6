"""Releases in a real browser: a comms user uploads samples/release.md and types another in
Markdown, sees the live check and preview, sends themself a test that reaches the test SMTP
server; a viewer reads and changes nothing; a hostile title stays text."""

from __future__ import annotations

import email
from email import policy

import pytest
from playwright.sync_api import expect

from distribute.db import make_sessionmaker
from staff_helpers import Served, Staff, shot, staff_settings, truncate

from conftest import REPO

SAMPLE = REPO / "samples" / "release.md"
TITLE = "New report: one in four rural clinics in the Sahel has no reliable water supply"
HOSTILE = '<script>alert("t")</script><img src=x onerror=alert("i")> Clinics'
TYPED = """---
title: Water points reopen in Gao
dateline: Gao
date: 2026-11-30
language: {language}
media_contact: {{name: Nadia Benali, email: press@example.org}}
---
Six water points closed since June reopened this week, the clinic's staff said.
"""


@pytest.fixture
def staff(pg_url, tmp_path, smtp_server):
    """The staff app with its mail going to the test SMTP server (the shared fixture's, plus that)."""
    from distribute.web.staff import create_app

    truncate(pg_url)
    app = create_app(staff_settings(pg_url, tmp_path, smtp_url=smtp_server.url))
    served = Served(app)
    state = app.extensions["distribute_staff"]
    yield Staff(served.url, app, staff_settings(pg_url, tmp_path), make_sessionmaker(state.engine))
    served.stop()
    state.engine.dispose()


def _no_dialogs(page):
    page.on("dialog", lambda dialog: pytest.fail(f"a script ran: {dialog.message}"))


def test_upload_preview_and_send_me_a_test(sign_in, smtp_server):
    page = sign_in("comms")
    _no_dialogs(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Releases").click()
    page.get_by_role("link", name="New release").click()
    page.get_by_label("Or upload a .md or .txt file").set_input_files(str(SAMPLE))
    page.get_by_role("button", name="Store release").click()
    assert page.get_by_role("heading", level=1).inner_text() == TITLE
    expect(page.get_by_text("Release stored.")).to_be_visible()
    expect(page.get_by_text("No problems found for journalist and supporter.")).to_be_visible()
    for variant in ("Journalist", "Supporter"):
        for width in ("desktop", "phone"):
            frame = page.frame_locator(f'iframe[title="{variant} variant at {width} width"]')
            expect(frame.get_by_text("one in four has no reliable water supply").first).to_be_visible()
    page.get_by_text("Headers").first.click()
    expect(page.get_by_role("row", name="Reply-To").first).to_be_visible()
    shot(page, "release-page")

    page.get_by_label("Variant", exact=True).select_option("supporter")
    page.get_by_role("button", name="Send me a test").click()
    expect(page.get_by_text(f"is on its way to {page.email}")).to_be_visible()
    received = smtp_server.wait_for(1, timeout=30)
    message = email.message_from_bytes(received[0].data, policy=policy.default)
    assert received[0].recipients == (page.email,) and message["Subject"] == TITLE
    assert "Ask your representative to fund clinic water" in message.get_body(("plain",)).get_content()

    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shot(page, "release-page-phone")


def test_typed_markdown_with_the_live_check_and_preview(sign_in):
    page = sign_in("comms")
    _no_dialogs(page)
    page.goto("/releases/_new")
    text = page.get_by_label("Release text")
    text.fill(TYPED.format(language="English!"))
    status = page.get_by_role("status")
    status.get_by_text("Line 5: language 'english!' is not a language tag").wait_for()
    page.get_by_role("button", name="Go to line 5").click()
    assert page.evaluate("document.activeElement.name") == "text"
    text.fill(TYPED.format(language="en"))
    status.get_by_text("the supporter variant has no call to action").wait_for()
    frame = page.frame_locator('iframe[name="live-desktop"]')
    frame.locator("p", has_text="Six water points closed since June").wait_for()
    page.get_by_label("Variant", exact=True).select_option("supporter")
    for name in ("live-phone", "live-desktop"):
        page.frame_locator(f'iframe[name="{name}"]').locator("p", has_text="Six water points").wait_for()
    expect(page.locator("#live-understood").get_by_text("Water points reopen in Gao")).to_be_visible()
    shot(page, "release-editor")

    page.get_by_text("Title, language and link name").click()
    page.get_by_label("Title, when the text has none").fill(HOSTILE)
    page.get_by_role("button", name="Store release").click()
    assert page.get_by_role("heading", level=1).inner_text() == " ".join(HOSTILE.split())
    page.get_by_role("link", name="Edit").click()
    assert "title: Water points reopen in Gao" not in page.get_by_label("Release text").input_value()
    page.goto("/releases/")
    assert page.locator("td.release-title a").first.inner_text() == " ".join(HOSTILE.split())
    expect(page.locator("td.release-title img")).to_have_count(0)
    shot(page, "releases-list")


def test_a_viewer_reads_releases_and_changes_nothing(staff, sign_in):
    comms = sign_in("comms")
    comms.goto("/releases/_new")
    comms.get_by_label("Release text").fill(TYPED.format(language="en"))
    comms.get_by_role("button", name="Store release").click()
    expect(comms.get_by_text("Release stored.")).to_be_visible()  # on the release's own page
    slug = comms.url.rsplit("/", 1)[1]
    page = sign_in("viewer")
    page.goto("/releases/")
    expect(page.get_by_role("link", name="Water points reopen in Gao")).to_be_visible()
    expect(page.get_by_role("link", name="New release")).to_have_count(0)
    page.get_by_role("link", name="Water points reopen in Gao").click()
    expect(page).to_have_url(f"{staff.url}/releases/{slug}")  # there before looking for what is not
    expect(page.get_by_role("button", name="Send me a test")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    for path in ("/releases/_new", f"/releases/{slug}/edit"):
        assert page.goto(path).status == 403
