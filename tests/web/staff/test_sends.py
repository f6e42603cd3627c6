"""Sends and results in the staff app, in headless Chromium: comms sends a stored release to a
segment, confirms the numbers, watches the campaign finish through real Celery workers (a private
redis-server, the test SMTP server) and opens its results; a viewer sees no control and is refused.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import insert

from conftest import REPO
from distribute.audience.segments import add_segment
from distribute.db import make_sessionmaker
from distribute.models import Contact
from distribute.releases.store import read_release, store_release
from redis_server import RedisServer
from smtp_server import SMTPTestServer
from staff_helpers import SECRET, Served, Staff, shot, sign_in_as, staff_settings, truncate

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
CELERY = str(Path(sys.executable).with_name("celery"))
HOSTILE = '<img src=x onerror="window.__xss=1">'


@pytest.fixture
def sending(pg_url, tmp_path):
    """The staff app with a broker, a Celery worker and the test SMTP server; 5 journalists (one
    with a hostile name) in a segment named with markup, and the sample release."""
    from distribute.web.staff import create_app

    truncate(pg_url)
    redis, smtp = RedisServer(), SMTPTestServer().start()
    redis.start()
    settings = staff_settings(pg_url, tmp_path, broker_url=redis.url, smtp_url=smtp.url)
    app = create_app(settings)
    state = app.extensions["distribute_staff"]
    with state.sessions.begin() as s:
        s.execute(insert(Contact), [{"email": f"reporter{i}@outlet{i % 2}.example", "email_key": f"reporter{i}@outlet{i % 2}.example",
                                     "name": HOSTILE if i == 0 else f"Reporter {i}", "kind": "journalist",
                                     "outlet": f"Outlet {i % 2}", "attributes": {}} for i in range(5)])
        add_segment(s, "press <b>all</b>", "kind = journalist")
        store_release(s, read_release(REPO / "samples" / "release.md", zone=ZoneInfo("UTC")))
    env = {**os.environ, "DISTRIBUTE_DATABASE_URL": pg_url, "DISTRIBUTE_BROKER_URL": redis.url,
           "DISTRIBUTE_SMTP_URL": smtp.url, "DISTRIBUTE_SECRET_KEY": SECRET,
           "DISTRIBUTE_BASE_URL": "https://press.example.org"}
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen([CELERY, "-A", "worker", "worker", "--concurrency=2", "--without-gossip",
                               "--without-mingle", "--without-heartbeat", "-n", f"staff-{os.getpid()}@%h"],
                              cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    served = Served(app)
    yield Staff(served.url, app, settings, make_sessionmaker(state.engine)), smtp, tmp_path / "worker.log"
    served.stop()
    os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
    state.engine.dispose()
    smtp.stop()
    redis.stop()


def _page(browser, staff, role: str, width: int = 1280):
    email, password = staff.add_user(role)
    context = browser.new_context(viewport={"width": width, "height": 900}, base_url=staff.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    sign_in_as(page, email, password)
    return page


def test_comms_sends_watches_it_finish_and_reads_the_results(browser, sending):
    staff, smtp, worker_log = sending
    page = _page(browser, staff, "comms")
    page.goto("/sends/")
    page.get_by_role("link", name="New send").click()
    page.get_by_label("Release", exact=True).select_option(index=0)
    page.get_by_label("press <b>all</b>").check()  # the segment's name shown as text
    page.get_by_label("Now", exact=True).check()
    shot(page, "sends-new")
    page.get_by_role("button", name="Review the send").click()
    assert "5 people will receive" in page.locator(".big-number").inner_text()
    expect(page.locator("dl.facts").get_by_text("Already have this release")).to_be_visible()
    shot(page, "sends-confirm")
    page.get_by_role("button", name="Send to 5 people").click()
    expect(page).to_have_url(re.compile(r"/sends/1$"))
    # sends.js polls live.json every 2 s: the page itself says when the workers are done
    expect(page.locator("#live[data-state=sent]")).to_have_count(1, timeout=120_000)
    assert page.locator("[data-live=done]").inner_text() == "5", worker_log.read_text()[-3000:]
    for control in ("pause", "cancel"):  # there, and hidden
        expect(page.locator(f"[data-control={control}]")).to_have_count(1)
        expect(page.locator(f"[data-control={control}]")).to_be_hidden()
    shot(page, "sends-campaign")
    assert sum(smtp.count_by_recipient().values()) == 5
    page.locator(".page-head").get_by_role("link", name="Results").click()
    funnel = page.locator(".funnel")
    assert funnel.locator("li").first.inner_text().split()[0] == "5"
    outlets = page.get_by_role("table", name=re.compile("per outlet"))
    assert outlets.locator("tbody tr").count() == 2 and "Outlet 0" in outlets.text_content()
    assert page.evaluate("window.__xss") is None and HOSTILE in page.locator("#recipients-title ~ .table-wrap").text_content()
    shot(page, "results-campaign")
    page.get_by_label("Address starts with").fill("reporter3")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="reporter3@outlet1.example").click()
    assert "250" in page.locator("pre.reply").inner_text()
    shot(page, "results-recipient")
    phone = _page(browser, staff, "comms", width=375)
    phone.goto("/results/1")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(phone, "results-campaign-phone")


def test_a_viewer_sees_no_send_button_and_its_posts_are_refused(browser, sending):
    staff, _, _ = sending
    comms = _page(browser, staff, "comms")
    comms.goto("/sends/new")
    comms.get_by_label("press <b>all</b>").check()
    comms.get_by_label("At a time").check()
    comms.get_by_label(re.compile("^Time, in")).fill("2099-01-01 09:00")
    comms.get_by_role("button", name="Review the send").click()
    comms.get_by_role("button", name=re.compile("^Send to")).click()
    assert comms.locator("[data-live=state]").inner_text() == "scheduled"

    viewer = _page(browser, staff, "viewer")
    viewer.goto("/sends/")
    expect(viewer.get_by_role("link", name="New send")).to_have_count(0)
    viewer.goto("/sends/1")
    expect(viewer.get_by_role("button", name="Pause")).to_have_count(0)
    shot(viewer, "sends-campaign-viewer")
    for path in ("/sends/1/cancel", "/sends/1/pause", "/sends/new"):
        status = viewer.evaluate("async (url) => (await window.postJSON(url, {})).status", path)
        assert status == 403, path
    assert viewer.goto("/sends/new").status == 403
    viewer.goto("/sends/1")
    assert viewer.locator("[data-live=state]").inner_text() == "scheduled"
