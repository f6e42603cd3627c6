"""The audiences pages in Chromium: the segment builder (caret, live count), a CSV upload with bad
rows, contacts and one contact, the suppression list; hostile names rendered as text."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from distribute.models import Contact
from distribute.services import segments
from distribute.services.actor import operator
from staff_helpers import shot

HOSTILE = '<img src=x onerror="window.__xss=1">'
QUOTED = '"' + HOSTILE.replace('"', '""') + '"'
CSV = ("email,name,outlet,language\n"
       f"ann@example.org,{QUOTED},Daily Post,en\n"
       "not an address,Nobody,,\n"
       "bob@example.org,Bob Stone,Weekly,fr\n"
       "cy@example.org,Cy Ray,Daily Post,en\n")


def upload(page, tmp_path, kind="journalist", list_name="Desk"):
    path = tmp_path / "desk.csv"
    path.write_text(CSV, encoding="utf-8")
    page.goto("/audiences/import")
    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_label("The people in the file are").select_option(kind)
    page.get_by_label("Also add them to the list").fill(list_name)
    page.get_by_role("button", name="Import").click()
    page.get_by_role("heading", name="Imported").wait_for()


def test_comms_uploads_a_csv_with_bad_rows_and_finds_the_contacts(comms_page, tmp_path):
    page = comms_page
    page.goto("/audiences/import")
    shot(page, "audiences-import")
    upload(page, tmp_path)
    assert page.locator("ul.figures li").first.inner_text().split() == ["4", "rows"]
    skipped = page.get_by_role("table", name="Rows not imported")
    assert re.search(r"^3\s", skipped.locator("tbody tr").first.inner_text()) and "not an address" in skipped.inner_text()
    shot(page, "audiences-import-report")

    page.goto("/audiences/")
    table = page.get_by_role("table")
    assert HOSTILE in table.inner_text() and table.locator("img").count() == 0
    assert page.evaluate("window.__xss") is None
    shot(page, "audiences-contacts")
    page.get_by_label("Search").fill("daily")
    page.get_by_label("Language").fill("en")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("tbody tr")).to_have_count(2)
    page.get_by_role("link", name="Cy Ray").click()
    expect(page.get_by_role("heading", name="Cy Ray")).to_be_visible()
    assert "Desk" in page.locator("dl").inner_text()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_text("Unsubscribed: this address is on the suppression list")).to_be_visible()
    assert page.locator(".lead .badge").first.inner_text() == "unsubscribed"
    expect(page.get_by_role("button", name="Erase this person")).to_have_count(0)  # an admin's action
    shot(page, "audiences-contact")


def test_comms_builds_a_segment_with_an_error_caret_and_a_live_count(comms_page, staff):
    with staff.sessions.begin() as s:
        for i, beat in enumerate(("climate", "climate", "energy")):
            s.add(Contact(email=f"p{i}@example.org", email_key=f"p{i}@example.org", kind="journalist", beat=beat))
    page = comms_page
    page.goto("/audiences/segments/builder")
    rule = page.get_by_label("Rule", exact=True)
    rule.fill("beat = climate and\nbeets = x")
    check = page.locator("#rule-check")
    check.locator(".error").wait_for()
    assert 'unknown field "beets"' in check.inner_text()
    assert check.locator("pre.caret").inner_text() == "beets = x\n^"
    assert rule.get_attribute("aria-invalid") == "true"
    shot(page, "audiences-segment-error")

    rule.fill("beat = climate")
    check.locator(".count").wait_for()
    assert check.locator(".count").inner_text().startswith("2 recipients (2 matched")
    page.get_by_label("Name", exact=True).fill(HOSTILE)
    page.get_by_role("button", name="Save segment").click()
    expect(page.get_by_text("2 recipients.")).to_be_visible()
    row = page.get_by_role("table").locator("tbody tr").first
    assert HOSTILE in row.inner_text() and row.locator("img").count() == 0
    assert page.evaluate("window.__xss") is None
    shot(page, "audiences-segments")

    # Saved with a bad rule (the form, without the script's help): the caret is on the page too.
    page.goto("/audiences/segments/builder")
    page.get_by_label("Name", exact=True).fill("broken")
    page.evaluate("document.querySelector('textarea[name=rule]').value = 'kind = journalist or (beat = x'")
    page.get_by_role("button", name="Save segment").click()
    expect(page.locator("#rule-check")).to_contain_text("the rule ends too early")
    expect(page.locator("pre.caret")).to_be_visible()


def test_an_admin_erases_a_contact_and_manages_the_suppression_list(admin_page, staff):
    with staff.sessions.begin() as s:
        s.add(Contact(email="eve@example.org", email_key="eve@example.org", kind="supporter", name="Eve Adams"))
    page = admin_page
    page.goto("/audiences/")
    page.get_by_role("link", name="Eve Adams").click()
    shot(page, "audiences-contact-admin")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Erase this person").click()
    expect(page.get_by_text("erased; the address stays on the suppression list")).to_be_visible()
    with staff.sessions() as s:
        assert s.scalar(select(Contact.id)) is None

    page.goto("/audiences/suppressions")
    assert "eve@example.org" in page.get_by_role("table").inner_text()
    page.get_by_label("Addresses, one per line").fill("zed@example.org\nnot-valid")
    page.get_by_label("Why they must not be mailed").fill("asked by phone")
    page.get_by_role("button", name="Suppress").click()
    assert page.get_by_role("alert").inner_text().count("not-valid") == 1
    assert "zed@example.org" in page.get_by_role("table").inner_text()
    shot(page, "audiences-suppressions")
    page.goto("/audiences/lists")
    shot(page, "audiences-lists")


def test_a_viewer_reads_but_sees_no_changes_and_no_suppression_list(viewer_page, staff):
    with staff.sessions.begin() as s:
        segments.add(s, operator(), "all", "kind = journalist")
    page = viewer_page
    page.goto("/audiences/segments")
    expect(page.get_by_role("link", name="New segment")).to_have_count(0)
    expect(page.get_by_role("link", name="Suppression list")).to_have_count(0)
    assert page.goto("/audiences/suppressions").status == 403
    assert page.goto("/audiences/import").status == 403
    page.goto("/audiences/segments/builder")
    response = page.request.post(staff.url + "/audiences/segments/remove", form={"name": "all"})
    assert response.status == 400  # no CSRF token: refused before any role check
