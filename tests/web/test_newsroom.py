"""The public newsroom and its Atom feed: published releases only (sent by a real campaign, embargo
lifted), newest first, each linking a web version that opens."""

from __future__ import annotations

import datetime as dt

import feedparser
import pytest
from lxml import etree
from sqlalchemy import select, update

from conftest import REPO
from distribute.config import Settings
from distribute.models import Campaign, Release
from distribute.web import create_app
from web_helpers import BASE

NOW = dt.datetime.now(dt.UTC)
RELEASE = """---
title: "{title}"
subtitle: "{title}: the details"
dateline: "Geneva"
date: 2026-11-25
media_contact:
  name: Nadia Benali
  email: press@example.org
---
The body of {title}, with <b>markup</b> written as text and a [link](https://example.org/{slug}).
"""


@pytest.fixture
def web(db, tmp_path):
    settings = Settings(database_url=db.url, secret_key="test-secret-key-for-distribute-tests", base_url=BASE,
                        outbox_dir=tmp_path / "outbox")
    app = create_app(settings, buffered=False)
    yield app.test_client()
    app.extensions["distribute"].engine.dispose()


def _add(run_cli, tmp_path, slug: str, title: str) -> None:
    file = tmp_path / f"{slug}.md"
    file.write_text(RELEASE.format(title=title.replace('"', '\\"'), slug=slug))
    result = run_cli("release", "add", file, "--slug", slug)
    assert result.exit_code == 0, result.output


@pytest.fixture
def releases(run_cli, db, tmp_path):
    """Six releases, each with its own fate; the campaigns are scheduled by `distribute send --at`
    and then marked started (or cancelled) as the sender would have, which is all the rule reads."""
    assert run_cli("contacts", "import", "--kind", "journalist", REPO / "samples" / "contacts.csv").exit_code == 0
    assert run_cli("segments", "add", "rights", "--where", 'beat = "human rights"').exit_code == 0
    fates = {"old-sent": ("Old news", "sent", None, 3), "new-sent": ("Fresh <news> & more", "sent", None, 1),
             "embargo-lifted": ("Embargo lifted", "sent", -2, 5), "embargoed": ("Still embargoed", "sent", 24, 1),
             "draft": ("Only a draft", None, None, 0), "test-only": ("Only tested", "test", None, 1),
             "cancelled": ("Cancelled early", "cancelled", None, 1)}
    for slug, (title, fate, embargo_hours, days_ago) in fates.items():
        _add(run_cli, tmp_path, slug, title)
        if fate is None:
            continue
        result = run_cli("send", slug, "--to", "rights", "--at", "2099-01-01 09:00")
        assert result.exit_code == 0, result.output
        with db.sessions.begin() as s:
            release = s.scalar(select(Release).where(Release.slug == slug))
            values = {"started_at": NOW - dt.timedelta(days=days_ago), "is_test": fate == "test"}
            if fate == "cancelled":
                values |= {"state": "cancelled"}
            s.execute(update(Campaign).where(Campaign.release_id == release.id).values(**values))
            if embargo_hours is not None:
                release.embargo_until = NOW + dt.timedelta(hours=embargo_hours)
    return fates


def test_the_index_lists_published_releases_newest_first(web, releases):
    page = web.get("/newsroom")
    assert page.status_code == 200
    html = page.data.decode()
    # newest first by when each became public: the embargo lifted 2 hours ago (sent 5 days ago),
    # then the one sent yesterday, then the one sent 3 days ago
    assert html.index("/releases/embargo-lifted") < html.index("/releases/new-sent") < html.index("/releases/old-sent")
    for hidden in ("embargoed", "draft", "test-only", "cancelled"):
        assert f"/releases/{hidden}" not in html
    assert "Fresh &lt;news&gt; &amp; more" in html  # a title is text
    assert f'href="{BASE}/newsroom.atom"' in html
    for slug in ("new-sent", "embargo-lifted", "old-sent"):
        assert web.get(f"/releases/{slug}").status_code == 200  # the link opens


def test_the_feed_is_valid_atom_with_one_entry_per_published_release(web, releases):
    response = web.get("/newsroom.atom")
    assert response.status_code == 200 and response.content_type.startswith("application/atom+xml")
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    assert [e.link for e in feed.entries] == [f"{BASE}/releases/{s}" for s in ("embargo-lifted", "new-sent", "old-sent")]
    first = feed.entries[1]
    assert first.title == "Fresh <news> & more" and first.id == first.link
    assert first.summary == "Fresh <news> & more: the details"
    assert "&lt;b&gt;markup&lt;/b&gt;" in first.content[0].value and 'href="https://example.org/new-sent"' in first.content[0].value
    # the embargo-lifted release is published when its embargo lifted, not when it was sent
    lifted = feed.entries[0]
    assert dt.datetime(*lifted.published_parsed[:6], tzinfo=dt.UTC) > NOW - dt.timedelta(hours=3)
    root = etree.fromstring(response.data)
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    self_link = root.find("{http://www.w3.org/2005/Atom}link[@rel='self']").get("href")
    assert self_link == f"{BASE}/newsroom.atom"
    for entry in feed.entries:
        assert web.get(entry.link.removeprefix(BASE)).status_code == 200


def test_an_empty_newsroom_is_a_valid_feed(web):
    assert b"Nothing published yet." in web.get("/newsroom").data
    feed = feedparser.parse(web.get("/newsroom.atom").data)
    assert not feed.bozo and feed.entries == [] and feed.feed.updated == "1970-01-01T00:00:00Z"
