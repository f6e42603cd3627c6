"""`distribute release check`: the pre-flight linter."""

import datetime as dt
import json

import pytest

from distribute.sending.checks import check_release

from conftest import REPO
from release_helpers import SETTINGS, make_release


def codes(findings):
    return {(f.severity, f.code) for f in findings}


def test_sample_release_passes(run_cli):
    run_cli("release", "add", REPO / "samples" / "release.md")
    result = run_cli("release", "check", "1")
    assert result.exit_code == 0, result.output
    assert "no problems found" in result.output


def test_pasted_fixture_lacks_contact_and_call_to_action(run_cli):
    run_cli("release", "add", REPO / "tests" / "data" / "releases" / "pasted-no-title.txt", "--title", "Office destroyed")
    result = run_cli("release", "check", "office-destroyed", "--json")
    assert result.exit_code == 1
    out = json.loads(result.output)
    assert out["ok"] is False
    found = {(f["severity"], f["code"], f["variant"]) for f in out["findings"]}
    assert found == {("error", "no-media-contact", "journalist"), ("error", "no-call-to-action", "supporter"),
                     ("warning", "no-release-date", None)}


def test_images_links_and_past_embargo(tmp_path):
    path = tmp_path / "r.md"
    path.write_text(
        "---\ntitle: T\nmedia_contact: {email: a@b.example}\ncall_to_action: {label: Go, url: 'https://x.example'}\n"
        "embargo: 2020-01-01 09:00\n---\n"
        "Text ![](https://x.example/chart.png) and [the report](report.pdf), [ftp](ftp://x.example/f), "
        "[mail](mailto:a@b.example), [ok](https://x.example/ok).\n"
    )
    findings = check_release(make_release(path), SETTINGS)
    assert codes(findings) == {
        ("warning", "no-dateline"), ("warning", "no-release-date"), ("warning", "embargo-past"),
        ("warning", "image-no-alt"), ("error", "bad-link"),
    }
    bad = sorted(f.message for f in findings if f.code == "bad-link")
    assert bad == ["link 'ftp' points to 'ftp://x.example/f', which is not an http(s) address",
                   "link 'the report' points to 'report.pdf', which is not an http(s) address"]


def test_html_over_gmail_clip_is_an_error(tmp_path):
    path = tmp_path / "r.md"
    paragraph = "A long paragraph of words for the test that fills the message. " * 20
    path.write_text("---\ntitle: T\ndateline: X\nmedia_contact: a@b.example\n---\n" + (paragraph + "\n\n") * 90)
    findings = check_release(make_release(path, cta_label="Go", cta_url="https://x.example"), SETTINGS,
                             now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert ("error", "html-too-large") in codes(findings)


def test_placeholder_lookalikes_in_a_release_are_text_for_check_and_preview(run_cli, tmp_path):
    path = tmp_path / "r.md"
    path.write_text((REPO / "samples" / "release.md").read_text().replace(
        "A survey of 412", "DX__NO_SUCH_THING__DX and DX__UNSUBSCRIBE_URL__DX: a survey of 412"))
    run_cli("release", "add", path)
    checked = run_cli("release", "check", "1")
    assert checked.exit_code == 0 and "no problems found" in checked.output, checked.output
    shown = run_cli("release", "preview", "1", "--out", tmp_path / "p.html", "--text", tmp_path / "p.txt")
    assert shown.exit_code == 0, shown.output
    assert "DX__NO_SUCH_THING__DX and DX__UNSUBSCRIBE_URL__DX: a survey" in (tmp_path / "p.html").read_text()
    assert "DX__NO_SUCH_THING__DX and DX__UNSUBSCRIBE_URL__DX: a survey" in " ".join((tmp_path / "p.txt").read_text().split())


PASTED_WITH_CONTACT = ("PRESS RELEASE\n\nCoalition sues over river pollution\n\nLONDON, 5 December 2026 – The coalition "
                       "filed suit on Monday.\n\n###\n\nMedia contact: Jane Doe, jane@example.org, +44 20 7946 0321\n")


def _found(result) -> set:
    return {(f["severity"], f["code"], f["variant"]) for f in json.loads(result.output)["findings"]}


def test_check_per_variant_a_pasted_release_without_call_to_action(run_cli, tmp_path):
    path = tmp_path / "r.txt"
    path.write_text(PASTED_WITH_CONTACT)
    assert run_cli("release", "add", path).exit_code == 0
    journalist = run_cli("release", "check", "1", "--variant", "journalist", "--json")
    assert journalist.exit_code == 0, journalist.output
    assert _found(journalist) == set()
    both = run_cli("release", "check", "1", "--json")
    assert both.exit_code == 1 and _found(both) == {("error", "no-call-to-action", "supporter")}
    assert run_cli("release", "check", "1", "--variant", "supporter").exit_code == 1
    # The documented plain-text line gives the supporter variant its call to action.
    path.write_text(PASTED_WITH_CONTACT.replace("###", "Take action: Ask your MP – https://example.org/act\n\n###"))
    assert run_cli("release", "update", "coalition-sues-over-river-pollution", path).exit_code == 0
    checked = run_cli("release", "check", "1")
    assert checked.exit_code == 0 and "no problems found (journalist, supporter)" in checked.output, checked.output


def test_a_journalist_send_without_media_contact_is_refused_as_a_supporter_send_without_call_to_action(run_cli, tmp_path):
    assert run_cli("contacts", "import", REPO / "samples" / "contacts.csv", "--kind", "journalist").exit_code == 0
    assert run_cli("segments", "add", "all", "--where", "kind = journalist").exit_code == 0
    path = tmp_path / "r.txt"
    path.write_text("Headline\n\nLONDON – Text.\n")
    assert run_cli("release", "add", path).exit_code == 0
    journalist = run_cli("send", "headline", "--to", "all")
    supporter = run_cli("send", "headline", "--to", "all", "--variant", "supporter")
    assert journalist.exit_code == supporter.exit_code == 1
    assert "release headline cannot be sent: the journalist variant has no media contact" in journalist.output
    assert "release headline cannot be sent: the supporter variant has no call to action" in supporter.output
    assert json.loads(run_cli("campaigns", "list", "--json").output) == []
    for variant in ("journalist", "supporter"):
        assert run_cli("release", "check", "headline", "--variant", variant).exit_code == 1


@pytest.mark.parametrize("extra, code", [
    ("title: PRESS RELEASE\n", "title-is-label"),
    ("title: \"December 5, 2026\"\n", "title-is-date"),
    ("title: T\nmedia_contact: {name: Jane Doe, email: j@example.org}\ncontacts: [{name: John Roe, phone: '+44 20 7946 0321'}, Ann Bee <a@b.example>]\n", None),
])
def test_warnings_for_what_the_reader_may_have_got_wrong(tmp_path, extra, code):
    path = tmp_path / "r.md"
    path.write_text(f"---\n{extra}date: 2026-12-05\n---\nLONDON – Body.\n")
    release = make_release(path)
    found = codes(check_release(release, SETTINGS, variants=("journalist",)))
    if code:
        assert ("warning", code) in found
    else:
        assert not {c for _, c in found} & {"title-is-label", "title-is-date", "partial-contact", "no-release-date"}
    release.contacts = release.contacts + [{"name": "Nameless Only", "title": None, "organisation": None, "email": None, "phones": []}]
    release.release_date = None
    found = codes(check_release(release, SETTINGS, variants=("journalist",)))
    assert {("warning", "partial-contact"), ("warning", "no-release-date")} <= found
