"""The releases service on both databases: who may do what, what the audit log keeps, the shapes
every interface presents, the release states, the public rule, and the editor's round trip."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from distribute.errors import Conflict, Forbidden, NotFound
from distribute.models import Campaign, Contact, Release, utcnow
from distribute.services import audit, releases, users
from distribute.services.actor import ADMIN, COMMS, VIEWER, Actor, operator

from conftest import DATA, REPO

SAMPLE = REPO / "samples" / "release.md"
CORPUS = sorted(p for p in (DATA / "releases" / "corpus").glob("*.txt") if not p.name.startswith("err-"))
ADMIN_ = Actor("ada@example.org", ADMIN, 1, "api")
COMMS_ = Actor("cy@example.org", COMMS, 2, "web")
VIEWER_ = Actor("vera@example.org", VIEWER, 3, "web")


@pytest.fixture(autouse=True)
def staff(request):
    """The three actors above as users (the audit log refers to them), where a database is used."""
    if "db" not in request.fixturenames:
        return
    db = request.getfixturevalue("db")
    with db.sessions.begin() as s:
        for actor in (ADMIN_, COMMS_, VIEWER_):
            added = users.add_user(s, operator(), actor.name, role=actor.role)
            assert added["id"] == actor.user_id


def sample_text(**options) -> releases.Text:
    return releases.Text(SAMPLE.read_bytes(), "release.md", **options)


def add_sample(db, settings, actor=COMMS_) -> dict:
    with db.sessions.begin() as s:
        return releases.add(s, actor, sample_text(), zone=settings.zone)


def test_a_viewer_reads_and_changes_nothing(db, settings):
    stored = add_sample(db, settings)
    with db.sessions.begin() as s:
        assert [r["slug"] for r in releases.list_releases(s, VIEWER_)] == [stored["slug"]]
        assert releases.show(s, VIEWER_, stored["slug"])["title"] == stored["title"]
        assert releases.check(s, VIEWER_, stored["slug"], settings=settings)["ok"] is True
        assert releases.preview(s, VIEWER_, stored["slug"], settings=settings)["variants"]
        assert "title:" in releases.source_text(s, VIEWER_, stored["slug"])["text"]
    refused = [
        lambda s: releases.add(s, VIEWER_, sample_text(title="Other"), zone=settings.zone),
        lambda s: releases.update(s, VIEWER_, stored["slug"], sample_text(title="Other"), zone=settings.zone),
        lambda s: releases.remove(s, VIEWER_, stored["slug"]),
        lambda s: releases.test_send(s, VIEWER_, stored["slug"], to=["v@example.org"], settings=settings),
        lambda s: releases.try_text(VIEWER_, sample_text(), settings=settings),
    ]
    for attempt in refused:
        with db.sessions.begin() as s, pytest.raises(Forbidden) as caught:
            attempt(s)
        assert caught.value.code == "forbidden"
    with db.sessions.begin() as s:
        assert s.scalar(select(Release.title)) == stored["title"]
        assert s.scalar(select(Campaign.id)) is None
        assert [e["action"] for e in audit.entries(s, operator(), action="release.")] == ["release.add"]


def test_changes_are_audited_with_who_made_them(db, settings):
    stored = add_sample(db, settings)
    assert stored["outcome"] == "stored" and set(stored) >= {"id", "slug", "title", "dateline", "outcome"}
    with db.sessions.begin() as s:
        again = releases.add(s, COMMS_, sample_text(), zone=settings.zone)
        assert again == stored | {"outcome": "identical"}  # nothing stored, nothing recorded
        updated = releases.update(s, COMMS_, stored["slug"], sample_text(title="A new headline"), zone=settings.zone)
        assert updated["outcome"] == "updated" and updated["title"] == "A new headline"
        sent = releases.test_send(s, COMMS_, stored["slug"], to=[" Me@Example.org "], settings=settings)
        assert sent["to"] == ["Me@example.org"] and sent["variant"] == "journalist"
        assert s.get(Campaign, sent["campaign"]).is_test
    with db.sessions.begin() as s:
        removed = releases.remove(s, ADMIN_, stored["slug"])
        assert removed == {"id": stored["id"], "slug": stored["slug"], "removed": True}
    with db.sessions.begin() as s:
        log = audit.entries(s, operator(), action="release.")
    assert [(e["action"], e["actor"], e["via"]) for e in reversed(log)] == [
        ("release.add", "cy@example.org", "web"), ("release.update", "cy@example.org", "web"),
        ("release.test_send", "cy@example.org", "web"), ("release.remove", "ada@example.org", "api"),
    ]
    assert log[1]["target"] == f"campaign:{sent['campaign']}" and log[1]["detail"]["to"] == ["Me@example.org"]
    json.dumps(log)


def test_states_and_the_public_rule_agree(db, settings):
    stored = add_sample(db, settings)
    long_title = "Court rules on the Eastside clinic closures " + "and the water supply " * 20
    with db.sessions.begin() as s:
        other = releases.add(s, COMMS_, releases.Text(SAMPLE.read_bytes(), "x.md", title=long_title), zone=settings.zone)
    now = utcnow()

    def states() -> dict[str, str]:
        with db.sessions.begin() as s:
            rows = releases.list_releases(s, VIEWER_, now=now)
            public = set(s.scalars(select(Release.slug).where(releases.published_where(now))))
            for r in rows:  # the list's state, is_published and the SQL form say the same
                release = s.get(Release, r["id"])
                assert (r["state"] == "sent") == releases.is_published(release, now) == (r["slug"] in public)
                assert releases.show(s, VIEWER_, r["slug"], now=now)["state"] == r["state"]
            return {r["slug"]: r["state"] for r in rows}

    assert states() == {stored["slug"]: "draft", other["slug"]: "draft"}
    with db.sessions.begin() as s:
        releases.test_send(s, COMMS_, stored["slug"], to=["me@example.org"], settings=settings)
        s.add(Campaign(ref="c-later", release_id=other["id"], variant="journalist", state="scheduled",
                       audience={}, scheduled_at=now + dt.timedelta(days=1)))
    assert states() == {stored["slug"]: "draft", other["slug"]: "scheduled"}  # a test send is not a send
    with db.sessions.begin() as s:
        s.add(Campaign(ref="c-now", release_id=stored["id"], variant="journalist", state="sending",
                       audience={}, scheduled_at=now, started_at=now))
        s.get(Release, stored["id"]).embargo_until = now + dt.timedelta(hours=2)
    assert states()[stored["slug"]] == "embargoed"
    with db.sessions.begin() as s:
        s.get(Release, stored["id"]).embargo_until = now - dt.timedelta(minutes=1)
    assert states()[stored["slug"]] == "sent"
    with db.sessions.begin() as s:
        listed = releases.list_releases(s, VIEWER_, now=now)
        assert listed[0]["title"] == " ".join(long_title.split())  # the full title, never cut
        assert [r["id"] for r in releases.list_releases(s, VIEWER_, limit=1, before=listed[0]["id"])] == [stored["id"]]
        with pytest.raises(Conflict):
            releases.remove(s, COMMS_, stored["slug"])


@pytest.mark.parametrize("path", [SAMPLE, *CORPUS], ids=lambda p: p.name)
def test_the_editable_text_reads_back_to_the_same_release(path, db, settings):
    with db.sessions.begin() as s:
        stored = releases.add(s, COMMS_, releases.Text(path.read_bytes(), path.name), zone=settings.zone)
    with db.sessions.begin() as s:
        text = releases.source_text(s, VIEWER_, stored["slug"])["text"]
        again = releases.update(s, COMMS_, stored["slug"], releases.Text(text.encode(), "edited.md"), zone=settings.zone)
    assert again["outcome"] == "identical", text


def test_the_editor_view_of_unsaved_text(settings):
    broken = releases.Text(b"---\ntitle: A title\nlanguage: English!\n---\nBody.\n", "typed.md")
    seen = releases.try_text(COMMS_, broken, settings=settings)
    assert seen["ok"] is False and seen["error"]["line"] == 3 and "language" in seen["error"]["reason"]
    seen = releases.try_text(COMMS_, releases.Text(b"No dateline here\n\nJust a paragraph.\n", "typed.txt"),
                             settings=settings, variant="supporter")
    assert seen["ok"] and seen["understood"]["title"] == "No dateline here"
    codes = {f["code"] for f in seen["check"]["findings"]}
    assert {"no-dateline", "no-media-contact", "no-call-to-action"} <= codes and seen["check"]["ok"] is False
    assert seen["email"]["variant"] == "supporter" and "Just a paragraph." in seen["email"]["text"]
    json.dumps(seen)


def test_preview_for_a_real_contact_with_headers(db, settings):
    stored = add_sample(db, settings)
    with db.sessions.begin() as s:
        s.add(Contact(email="ines@example.net", email_key="ines@example.net", name="Inès Moreau", outlet="Le Quotidien",
                      kind="journalist"))
    with db.sessions.begin() as s:
        shown = releases.preview(s, VIEWER_, stored["slug"], settings=settings, contact="Ines@Example.net")
        with pytest.raises(NotFound) as caught:
            releases.preview(s, VIEWER_, stored["slug"], settings=settings, contact="nobody@example.net")
    assert caught.value.field == "contact"
    assert [v["variant"] for v in shown["variants"]] == ["journalist", "supporter"]
    journalist = shown["variants"][0]
    headers = dict(journalist["headers"])
    assert headers["To"] == "Inès Moreau <ines@example.net>" and headers["Subject"] == journalist["subject"]
    assert "Reply-To" in headers and "List-Unsubscribe" in headers
    assert "Inès" in journalist["text"] and "Le Quotidien" in journalist["html"]
    json.dumps(shown)


def test_the_cli_names_the_option_at_fault(run_cli):
    refused = run_cli("release", "add", DATA / "releases" / "pasted-no-title.txt")
    assert refused.exit_code == 1
    assert "no title line before its first paragraph: give its title (--title)" in refused.output
    assert json.loads(run_cli("release", "add", SAMPLE, "--json").output)["outcome"] == "stored"
    listed = json.loads(run_cli("release", "list", "--json").output)
    assert listed[0]["state"] == "draft" and set(listed[0]) >= {"id", "slug", "title", "dateline", "embargo_until", "created_at"}
