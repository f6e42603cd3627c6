"""`distribute release check`: the pre-flight linter."""

import datetime as dt
import json

from distribute.checks import check_release

from conftest import REPO
from test_rendering import SETTINGS, make_release


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
    assert found == {("error", "no-media-contact", None), ("error", "no-call-to-action", "supporter")}


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
        ("warning", "no-dateline"), ("warning", "embargo-past"), ("warning", "image-no-alt"), ("error", "bad-link"),
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
    assert "DX__NO_SUCH_THING__DX and DX__UNSUBSCRIBE_URL__DX: a survey" in (tmp_path / "p.txt").read_text()
