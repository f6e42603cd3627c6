"""One release, one copy per address, from the command line: whatever campaign or audience it
comes from, an address gets a release once, unless a send says `--again`; a release file added
twice is stored once. The fan-out rule itself is tested in tests/sending/test_campaigns.py.
"""

from __future__ import annotations

import collections
import email
import json
from email import policy

from conftest import REPO
from counter_helpers import counters_exact_after  # noqa: F401  (autouse: counters equal a recount after each test)


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
    contact = "\n\nMedia contact: press@example.org\n"  # a journalist send needs one
    draft.write_text("Office destroyed in Aleppo\n\nALEPPO, Syria – The office was hit at dawn." + contact)
    assert run_cli("release", "add", draft, "--slug", "aleppo").exit_code == 0
    draft.write_text("Office destroyed in Aleppo\n\nALEPPO, Syria – The office was hit at dawn on Monday." + contact)
    updated = json.loads(run_cli("release", "update", "aleppo", draft, "--json").output)
    assert updated == updated | {"slug": "aleppo", "outcome": "updated"}
    assert "on Monday" in json.loads(run_cli("release", "show", "aleppo", "--json").output)["body"]
    # A test send does not freeze it; a real campaign that started does.
    assert run_cli("send", "aleppo", "--test", "me@example.org").exit_code == 0
    draft.write_text("Office destroyed in Aleppo\n\nALEPPO, Syria – The office was hit at dawn on Monday, 1 December." + contact)
    assert json.loads(run_cli("release", "add", draft, "--slug", "aleppo", "--json").output)["outcome"] == "updated"
    assert run_cli("contacts", "import", REPO / "samples" / "contacts.csv", "--kind", "journalist").exit_code == 0
    assert run_cli("segments", "add", "all", "--where", "kind = journalist").exit_code == 0
    assert run_cli("send", "aleppo", "--to", "all").exit_code == 0
    draft.write_text("Office destroyed in Aleppo\n\nALEPPO, Syria – A new text." + contact)
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
