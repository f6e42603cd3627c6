"""Release ingestion: Markdown with front matter and plain text as pasted; bad files refused."""

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from distribute.models import Release
from distribute.releases.lines import dateline as split_dateline
from distribute.releases.store import ReleaseError, read_release

from conftest import REPO

PASTED = REPO / "tests" / "data" / "releases" / "pasted-no-title.txt"
UTC = ZoneInfo("UTC")


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def count_releases(db) -> int:
    with db.sessions() as s:
        return s.scalar(select(func.count()).select_from(Release))


def test_fixture_is_stored_with_its_dateline_paragraphs_and_quotes(run_cli, db):
    result = run_cli("release", "add", PASTED, "--title", "Eastside legal aid clinic closed", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out == {"id": 1, "slug": "eastside-legal-aid-clinic-closed", "title": "Eastside legal aid clinic closed", "dateline": "Portland, OR",
                   "outcome": "stored"}
    with db.sessions() as s:
        release = s.get(Release, 1)
    paragraphs = release.body.strip().split("\n\n")
    assert len(paragraphs) == 6
    assert paragraphs[0].startswith("On Thursday, the River Valley Tenants Union")
    assert "“We kept the lights on as long as we could, so please forgive us if nobody answers the phone.”" in release.body
    assert release.source_format == "text"


def test_fixture_without_title_is_refused_and_nothing_is_stored(run_cli, db):
    result = run_cli("release", "add", PASTED)
    assert result.exit_code == 1
    assert "pasted-no-title.txt:1: the release has no title line" in result.output
    assert "--title" in result.output
    assert count_releases(db) == 0


def test_sample_release_markdown(run_cli, db):
    result = run_cli("release", "add", REPO / "samples" / "release.md", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["dateline"] == "Geneva"
    with db.sessions() as s:
        r = s.get(Release, 1)
    assert r.contacts == [{"name": "Nadia Benali", "title": "Head of Communications", "organisation": None,
                           "email": "press@example.org", "phones": ["+41 22 555 01 23"]}]
    assert r.cta_url == "https://example.org/act/clinic-water"
    assert r.release_date == dt.date(2026, 11, 25)


def test_same_title_twice_gets_a_new_slug_and_the_same_text_twice_is_stored_once(run_cli, db, tmp_path):
    first = json.loads(run_cli("release", "add", PASTED, "--title", "Same", "--json").output)
    other = write(tmp_path, "other.txt", "LONDON – Another text under the same headline.\n")
    second = json.loads(run_cli("release", "add", other, "--title", "Same", "--json").output)
    assert (first["slug"], second["slug"]) == ("same", "same-2")
    # The same text again, even saved with Windows line endings: found, not stored.
    crlf = write(tmp_path, "crlf.txt", PASTED.read_bytes().replace(b"\n", b"\r\n"))
    again = json.loads(run_cli("release", "add", crlf, "--title", "Same", "--json").output)
    assert again == {"id": first["id"], "slug": "same", "title": "Same", "dateline": "Portland, OR", "outcome": "identical"}
    assert count_releases(db) == 2


FRONT = "---\ntitle: A title\n{extra}---\nLONDON – Body text.\n"


@pytest.mark.parametrize("extra, line, reason", [
    ("colour: red\n", 3, "unknown front matter key 'colour'"),
    ("embargo: next tuesday\n", 3, "embargo: 'next tuesday' is not a time"),
    ("date: 2026-13-45\n", 3, "'date' could not be read: month must be in 1..12"),
    ("subtitle: [unclosed\n", 3, "front matter is not valid YAML"),
    ("media_contact: Jane Doe\n", 3, "a media contact needs an email address or a phone number"),
    ("call_to_action: Act now\n", 3, "'call_to_action' needs a label and a url"),
    ("cta_label: Act\ncta_url: javascript:alert(1)\n", 4, "must be an http(s) address"),
    ("title: again\n", 3, "'title' is given twice (first on line 2)"),
    ("language: English!\n", 3, "is not a language tag"),
])
def test_malformed_front_matter_names_line_and_reason(tmp_path, extra, line, reason):
    path = write(tmp_path, "r.md", FRONT.format(extra=extra))
    with pytest.raises(ReleaseError) as info:
        read_release(path, zone=UTC)
    assert info.value.line == line, str(info.value)
    assert reason in info.value.reason


@pytest.mark.parametrize("text, line, reason", [
    ("---\ntitle: x\nno end\n", 1, "never closed"),
    ("---\nsubtitle: x\n---\nBody\n", 1, "has no 'title'"),
    ("---\ntitle: x\n---\n\n\n", 4, "no body"),
    ("", 1, "empty"),
    ("---\n- a\n- b\n---\nBody\n", 2, "must be 'key: value' lines"),
])
def test_malformed_files(tmp_path, text, line, reason):
    path = write(tmp_path, "r.md", text)
    with pytest.raises(ReleaseError) as info:
        read_release(path, zone=UTC)
    assert info.value.line == line, str(info.value)
    assert reason in info.value.reason


def test_binary_and_undecodable_files_are_refused(tmp_path):
    with pytest.raises(ReleaseError, match=r"r.txt:2: the file is binary"):
        read_release(write(tmp_path, "r.txt", b"Title\n\x00\x01"), zone=UTC)
    with pytest.raises(ReleaseError, match=r"r.txt:3: byte 0x81 is neither UTF-8 nor Windows-1252"):
        read_release(write(tmp_path, "r.txt", b"Title\n\nLONDON - caf\xe9 \x81\n"), zone=UTC)


def test_cp1252_paste_is_read(tmp_path):
    path = write(tmp_path, "r.txt", "Headline here\n\nPARIS – “Quoted” café text.\n".encode("cp1252"))
    draft = read_release(path, zone=UTC)
    assert (draft.title, draft.dateline) == ("Headline here", "PARIS")
    assert draft.body == "“Quoted” café text.\n"


def test_embargo_without_zone_is_read_in_the_configured_zone(tmp_path):
    path = write(tmp_path, "r.md", FRONT.format(extra="embargo: 2026-12-01 09:00\n"))
    draft = read_release(path, zone=ZoneInfo("America/New_York"))
    assert draft.embargo_until == dt.datetime(2026, 12, 1, 14, 0, tzinfo=dt.UTC)
    path = write(tmp_path, "r.md", FRONT.format(extra="embargo: 2026-12-01T09:00:00+01:00\n"))
    assert read_release(path, zone=UTC).embargo_until == dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


def test_plain_text_with_the_usual_parts(tmp_path):
    text = (
        "FOR IMMEDIATE RELEASE\n"
        "EMBARGOED UNTIL 2026-12-01 09:00 UTC\n\n"
        "Coalition sues over river pollution\n\n"
        "Filing names three companies\n\n"
        "Lagos, Nigeria – The coalition filed suit on Monday, citing\n"
        "water samples from 40 villages.\n\n"
        "\"We have the data,\" said its director.\n\n"
        "###\n\n"
        "About the Coalition\n"
        "The Coalition works for clean rivers.\n\n"
        "Media contact: Ada Obi, ada@coalition.example, +234 1 555 0100\n"
    )
    draft = read_release(write(tmp_path, "r.txt", text), zone=UTC)
    assert draft.title == "Coalition sues over river pollution"
    assert draft.subtitle == "Filing names three companies"
    assert draft.dateline == "Lagos, Nigeria"
    assert draft.embargo_until == dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    assert draft.body == "The coalition filed suit on Monday, citing water samples from 40 villages.\n\n\"We have the data,\" said its director.\n"
    assert draft.boilerplate == "The Coalition works for clean rivers."
    assert draft.boilerplate_heading == "About the Coalition"
    assert draft.contacts == [{"name": "Ada Obi", "title": None, "organisation": None, "email": "ada@coalition.example",
                               "phones": ["+234 1 555 0100"]}]


@pytest.mark.parametrize("paragraph, dateline", [
    ("Washington, DC – On Tuesday", "Washington, DC"),
    ("LONDON — The minister", "LONDON"),
    ("NEW YORK, NY -- Today", "NEW YORK, NY"),
    ("Geneva (25 November 2026) – The UN", "Geneva"),  # the date in it is the release date
    ("Rio de Janeiro – Hoje", "Rio de Janeiro"),
    ("The group – which met – said", None),
    ("On Tuesday - a day", None),
])
def test_dateline_recognition(paragraph, dateline):
    found = split_dateline(paragraph)
    assert (found.place if found else None) == dateline


SHOWN = """PRESS RELEASE
EMBARGOED UNTIL 00:01 GMT, 8 December 2026

Coalition sues over river pollution
Filing names three companies

LAGOS, Nigeria, 5 December 2026 -- The coalition filed suit on Monday, asking the court to:
• stop the discharges;
• order a clean-up.

Take action: Write to the minister – https://example.org/act

ENDS

Notes to editors
1. The filing is public.

About the Clean Rivers Coalition
The Coalition works for clean rivers.

Media contacts:
Ada Obi, Head of Media, ada@coalition.example, +234 1 555 0100

Ben Eze, Press Officer
"""


def test_release_show_prints_every_field_the_reader_understood(run_cli, tmp_path):
    path = write(tmp_path, "r.txt", SHOWN)
    assert run_cli("release", "add", path, "--language", "en").exit_code == 0
    shown = json.loads(run_cli("release", "show", "1", "--json").output)
    expected = {
        "title": "Coalition sues over river pollution", "subtitle": "Filing names three companies", "label": "PRESS RELEASE",
        "dateline": "LAGOS, Nigeria", "dateline_dash": "--", "release_date": "2026-12-05",
        "embargo_until": "2026-12-08T00:01:00+00:00", "language": "en",
        "contacts": [{"name": "Ada Obi", "title": "Head of Media", "organisation": None, "email": "ada@coalition.example",
                      "phones": ["+234 1 555 0100"]},
                     {"name": "Ben Eze", "title": "Press Officer", "organisation": None, "email": None, "phones": []}],
        "boilerplate_heading": "About the Clean Rivers Coalition", "boilerplate": "The Coalition works for clean rivers.",
        "lists": [{"kind": "ul", "items": ["stop the discharges;", "order a clean-up."]}],
        "notes": ["The filing is public."], "end_mark": "ENDS",
        "cta_label": "Write to the minister", "cta_url": "https://example.org/act", "source_format": "text",
    }
    assert {key: shown[key] for key in expected} == expected
    printed = run_cli("release", "show", "1").output
    for line in ("label: PRESS RELEASE", "dateline: LAGOS, Nigeria", "release_date: 2026-12-05", "language: en",
                 "contact 1: Ada Obi | Head of Media | ada@coalition.example | +234 1 555 0100",
                 "contact 2: Ben Eze | Press Officer", "boilerplate_heading: About the Clean Rivers Coalition",
                 "list (bullets): stop the discharges;; order a clean-up.", "note 1: The filing is public.",
                 "end_mark: ENDS", "cta_url: https://example.org/act"):
        assert line in printed, line


def test_release_add_language_option(run_cli, tmp_path):
    path = write(tmp_path, "r.txt", "Headline\n\nLONDON – A short text.\n")
    assert run_cli("release", "add", path, "--language", "fr").exit_code == 0
    assert json.loads(run_cli("release", "show", "1", "--json").output)["language"] == "fr"
    refused = run_cli("release", "add", path, "--language", "français")
    assert refused.exit_code == 1 and "is not a language tag" in refused.output


def test_release_add_help_documents_the_plain_text_conventions(run_cli):
    shown = " ".join(run_cli("release", "add", "--help").output.split())
    for words in ("Take action: Ask your MP – https://", "EMBARGOED UNTIL 00:01 GMT", "--language", "release show"):
        assert words in shown, words


def test_a_title_in_any_script_gets_a_readable_slug():
    from distribute.releases.store import slugify

    assert slugify("نصف المدارس الرسمية في لبنان بلا تدفئة") == "nsf-lmdrs-lrsmy-fy-lbnn-bl-tdfy"
    assert slugify("Mal-logement : 330 000 personnes") == "mal-logement-330-000-personnes"
    assert slugify("“Quotes” – and dashes") == "quotes-and-dashes"
    assert len(slugify("word " * 40)) <= 80
