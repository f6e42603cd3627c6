"""One release, one copy per address: whatever campaign or audience it comes from, an address
gets a release once, unless a send says `--again`. And a release file added twice is stored once.
"""

from __future__ import annotations

import collections
import email
import json
import threading
from email import policy

import pytest
from sqlalchemy import select, update

from conftest import REPO
from distribute import campaigns as ops
from distribute.errors import UserError
from distribute.fanout import insert_deliveries, start_campaign
from distribute.models import Campaign, Delivery, Release
from test_campaigns import NOW, UTC, RecordingBroker, create, deliveries, world  # noqa: F401 (fixture)


def _mark_sent(db, campaign_id):
    with db.sessions() as s, s.begin():
        s.execute(update(Delivery).where(Delivery.campaign_id == campaign_id, Delivery.state == "queued")
                  .values(state="sent"))


def test_fan_out_skips_addresses_that_have_the_release_from_another_campaign(world, settings):
    first = create(world, targets=["politics"])
    start_campaign(world.sessions, settings, RecordingBroker(), first, NOW)
    _mark_sent(world, first)
    # A different audience that overlaps: every journalist, and the supporters.
    second = create(world, targets=["press", "fans"])
    broker = RecordingBroker()
    start_campaign(world.sessions, settings, broker, second, NOW)
    rows = deliveries(world, second)
    skipped = {k for k, d in rows.items() if d.state == "skipped"}
    assert skipped == {k for k, d in deliveries(world, first).items() if d.state == "sent"}
    assert all(rows[k].last_reply == f"already has this release from campaign {first}" for k in skipped)
    assert {k for k, d in rows.items() if d.state == "queued"} == {f"s{i}@example.org" for i in range(5)}
    assert sorted(broker.ids) == sorted(d.id for d in rows.values() if d.state == "queued")


def test_on_its_way_counts_too_and_again_lifts_the_rule(world, settings):
    first = create(world)
    start_campaign(world.sessions, settings, RecordingBroker(), first, NOW)  # queued, not sent yet
    with pytest.raises(UserError, match="already have release r from another campaign"):
        create(world, targets=["politics"])
    second = create(world, targets=["politics"], again=True)
    start_campaign(world.sessions, settings, RecordingBroker(), second, NOW)
    assert {d.state for d in deliveries(world, second).values()} == {"queued", "suppressed"}


def test_cancelled_failed_and_test_deliveries_do_not_count(world, settings):
    first = create(world)
    start_campaign(world.sessions, settings, RecordingBroker(), first, NOW)
    with world.sessions() as s, s.begin():
        s.execute(update(Delivery).where(Delivery.campaign_id == first, Delivery.state == "queued")
                  .values(state="cancelled"))
        s.execute(update(Campaign).where(Campaign.id == first).values(state="cancelled"))
    test = create(world, test=["j0@news0.example"])
    start_campaign(world.sessions, settings, RecordingBroker(), test, NOW)
    _mark_sent(world, test)
    second = create(world, targets=["politics"])
    start_campaign(world.sessions, settings, RecordingBroker(), second, NOW)
    assert "skipped" not in {d.state for d in deliveries(world, second).values()}


def test_two_campaigns_fanning_out_at_once_take_turns(world, settings):
    """The second fan-out waits for the first's transaction and then sees its rows."""
    if world.backend != "postgresql":
        pytest.skip("SQLite has one writer: two fan-outs cannot overlap there")
    first, second = create(world), create(world, targets=["politics"])
    with world.sessions() as s, s.begin():
        s.execute(update(Campaign).where(Campaign.id.in_([first, second])).values(state="sending", started_at=NOW))
    done = threading.Event()
    with world.sessions() as held:
        held.begin()
        insert_deliveries(held, held.get(Campaign, first))  # holds the release's lock, uncommitted
        thread = threading.Thread(target=lambda: (start_campaign(world.sessions, settings, RecordingBroker(), second, NOW),
                                                  done.set()))
        with world.sessions() as s, s.begin():  # the stalled second start, as the sweep would retry it
            s.execute(update(Campaign).where(Campaign.id == second).values(state="scheduled", started_at=None))
        thread.start()
        assert not done.wait(1.0)  # waiting for the first's lock
        held.commit()
    thread.join(30)
    assert done.is_set()
    first_rows, second_rows = deliveries(world, first), deliveries(world, second)
    assert {k for k, d in second_rows.items() if d.state == "skipped"} == \
        {k for k, d in first_rows.items() if d.state == "queued"}
    assert not {k for k, d in second_rows.items() if d.state == "queued"} & \
        {k for k, d in first_rows.items() if d.state == "queued"}


def test_dry_run_and_counts_say_how_many_already_have_it(world, settings):
    first = create(world, targets=["politics"])
    start_campaign(world.sessions, settings, RecordingBroker(), first, NOW)
    with world.sessions() as s:
        release = s.scalar(select(Release))
        result = ops.dry_run(s, release, ["press", "fans"])
    assert result["recipients"] == 32 and result["already_have"] == 27


# --- the whole story, from the command line --------------------------------------------------

def _messages_per_address(outbox):
    per_address = collections.Counter()
    for path in outbox.rglob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        per_address[message["To"].addresses[0].addr_spec.lower()] += 1
    return per_address


def test_segment_then_overlapping_list_then_the_same_file_again(run_cli, tmp_path):
    """The overlap case: a segment and a list that overlaps it, the same release sent to both,
    then the same file added again and sent again: every address has exactly one message."""
    contacts = REPO / "samples" / "contacts.csv"
    assert run_cli("contacts", "import", contacts, "--kind", "journalist", "--list", "press-2026").exit_code == 0
    assert run_cli("segments", "add", "mideast", "--where", 'beat = "middle east"').exit_code == 0
    release = REPO / "samples" / "release.md"
    added = json.loads(run_cli("release", "add", release, "--json").output)
    assert added["outcome"] == "stored"

    first = run_cli("send", added["slug"], "--to", "mideast", "--json")
    assert first.exit_code == 0, first.output
    sent_first = json.loads(first.output)["counts"]["sent"]
    dry = json.loads(run_cli("send", added["slug"], "--to", "list:press-2026", "--dry-run", "--json").output)
    assert dry["already_have"] == sent_first
    second = run_cli("send", added["slug"], "--to", "list:press-2026")
    assert second.exit_code == 0, second.output
    assert f"{sent_first} of the {dry['recipients']} recipients already have this release and are skipped" in second.output
    assert f"skipped {sent_first}" in second.output

    again = run_cli("release", "add", release)  # the same file again: no slug-2
    assert again.exit_code == 0 and "identical to release 1" in again.output and "nothing stored" in again.output
    assert len(json.loads(run_cli("release", "list", "--json").output)) == 1
    third = run_cli("send", added["slug"], "--to", "mideast", "--to", "list:press-2026")
    assert third.exit_code == 1 and "already have release" in third.output

    per_address = _messages_per_address(tmp_path / "outbox")
    assert per_address and set(per_address.values()) == {1}
    assert len(per_address) == dry["recipients"]

    deliberate = run_cli("send", added["slug"], "--to", "mideast", "--again")
    assert deliberate.exit_code == 0, deliberate.output
    assert max(_messages_per_address(tmp_path / "outbox").values()) == 2


def test_update_a_release_until_a_campaign_starts(run_cli, tmp_path):
    draft = tmp_path / "statement.txt"
    draft.write_text("Office destroyed in Aleppo\n\nALEPPO, Syria – The office was hit at dawn.\n")
    assert run_cli("release", "add", draft, "--slug", "aleppo").exit_code == 0
    draft.write_text("Office destroyed in Aleppo\n\nALEPPO, Syria – The office was hit at dawn on Monday.\n")
    updated = json.loads(run_cli("release", "update", "aleppo", draft, "--json").output)
    assert updated == updated | {"slug": "aleppo", "outcome": "updated"}
    assert "on Monday" in json.loads(run_cli("release", "show", "aleppo", "--json").output)["body"]
    # A test send does not freeze it; a real campaign that started does.
    assert run_cli("send", "aleppo", "--test", "me@example.org").exit_code == 0
    draft.write_text("Office destroyed in Aleppo\n\nALEPPO, Syria – The office was hit at dawn on Monday, 1 December.\n")
    assert json.loads(run_cli("release", "add", draft, "--slug", "aleppo", "--json").output)["outcome"] == "updated"
    assert run_cli("contacts", "import", REPO / "samples" / "contacts.csv", "--kind", "journalist").exit_code == 0
    assert run_cli("segments", "add", "all", "--where", "kind = journalist").exit_code == 0
    assert run_cli("send", "aleppo", "--to", "all").exit_code == 0
    draft.write_text("Office destroyed in Aleppo\n\nALEPPO, Syria – A new text.\n")
    refused = run_cli("release", "update", "aleppo", draft)
    assert refused.exit_code == 1
    assert "release aleppo cannot be changed: campaign 2 started sending it" in refused.output
    assert "1 December" in json.loads(run_cli("release", "show", "aleppo", "--json").output)["body"]
    assert run_cli("release", "update", "nope", draft).exit_code == 1


def test_remove_only_a_release_never_sent(run_cli, tmp_path):
    for name in ("a", "b"):
        path = tmp_path / f"{name}.md"
        path.write_text(f"---\ntitle: Release {name}\nmedia_contact: press@example.org\n---\nGENEVA – Body {name}.\n")
        assert run_cli("release", "add", path).exit_code == 0
    assert run_cli("contacts", "import", REPO / "samples" / "contacts.csv", "--kind", "journalist").exit_code == 0
    assert run_cli("segments", "add", "all", "--where", "kind = journalist").exit_code == 0
    assert run_cli("send", "release-a", "--test", "me@example.org").exit_code == 0
    assert run_cli("send", "release-b", "--to", "all").exit_code == 0

    removed = run_cli("release", "remove", "release-a")
    assert removed.exit_code == 0 and "removed" in removed.output
    refused = run_cli("release", "remove", "release-b")
    assert refused.exit_code == 1 and "was sent (campaign 2)" in refused.output
    assert [r["slug"] for r in json.loads(run_cli("release", "list", "--json").output)] == ["release-b"]


def test_release_list_shows_full_titles(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    title = ("Syrian civil society groups call on the Security Council to renew the cross-border aid "
             "mechanism before the winter, as millions depend on it for food and medicine")
    path = tmp_path / "long.md"
    path.write_text(f"---\ntitle: \"{title}\"\n---\nGENEVA – Body.\n")
    assert run_cli("release", "add", path).exit_code == 0
    output = run_cli("release", "list").output
    assert " ".join(output.split()).count(title.split(" as ")[1]) == 1
    for word in title.split():
        assert word in output
