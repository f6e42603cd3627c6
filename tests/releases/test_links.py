"""distribute.releases.links without a database: link rewriting, placeholders, tokens, machine opens,
IP truncation; and the ESP metadata header."""

from __future__ import annotations

import base64
import email
from email import policy

import lxml.html
import pytest

from distribute.config import Settings
from distribute.sending.message import MessageBuilder, Recipient
from distribute.releases.rendering import CompiledMessage, compile_release, placeholder, placeholder_pattern
from distribute.feedback.engagement import machine_open, truncate_ip, truncate_ips
from distribute.releases.links import add_tracking, click_index, click_name
from distribute.signing import Tokens

MARKER = "DXfeed42"


def _compiled(html: str, text: str = "") -> CompiledMessage:
    return CompiledMessage(release_id=1, variant="journalist", language="en", subject="S",
                           html=f"<html><body>{html}</body></html>", text=text, reply_to=None, reply_to_name=None,
                           marker=MARKER)


def click_placeholder(n: int) -> str:
    return placeholder(click_name(n), MARKER)


def test_placeholders_round_trip_and_stay_letters():
    for n in (0, 1, 25, 26, 27, 700, 12345):
        name = click_placeholder(n)
        assert placeholder_pattern(MARKER).fullmatch(name)
        assert click_index(placeholder_pattern(MARKER).fullmatch(name).group(1).lower()) == n


def test_only_plain_http_links_are_rewritten():
    html = ('<a href="https://example.org/a?x=1&amp;y=2">a</a> <a href="mailto:p@example.org">m</a> '
            '<a href="#top">t</a> <a href="https://example.org/a?x=1&amp;y=2">again</a> '
            '<a href="https://example.org/b&#10;c">control</a> <a href="javascript:alert(1)">j</a> '
            f'<a href="{MARKER}__UNSUBSCRIBE_URL__DX">u</a>')
    tracked = add_tracking(_compiled(html, "Read https://example.org/a?x=1&y=2. Or https://other.example/z"))
    assert tracked.links == ("https://example.org/a?x=1&y=2",)  # one entry, however often it appears
    assert tracked.html.count(click_placeholder(0)) == 2
    hrefs = [a.get("href") for a in lxml.html.document_fromstring(tracked.html).iter("a")]
    # The link with a control character is left as written (lxml writes the LF as %0A).
    assert hrefs == [click_placeholder(0), "mailto:p@example.org", "#top", click_placeholder(0),
                     "https://example.org/b%0Ac", "javascript:alert(1)", f"{MARKER}__UNSUBSCRIBE_URL__DX"]
    assert tracked.text == f"Read {click_placeholder(0)}. Or https://other.example/z"
    assert f"{MARKER}__OPEN_URL__DX" in tracked.html


def test_a_token_is_accepted_only_as_we_spell_it():
    from web_helpers import BASE32, respell, tamper

    tokens = Tokens("k")
    for signer in (tokens.open, tokens.click, tokens.unsubscribe):
        token = signer.sign("ref_1.camp.0")
        value, signature = token.rsplit(".", 1)
        other = respell(signature)
        assert other != signature and base64.urlsafe_b64decode(other + "=") == base64.urlsafe_b64decode(signature + "=")
        assert signer.unsign(token) == "ref_1.camp.0"
        assert signer.unsign(f"{value}.{other}") is None and signer.unsign(f"{value}.{tamper(signature)}") is None
        assert signer.unsign(value) is None and signer.unsign(f"{token}é") is None
    ref = "vRXNZd0WZSHB6CEl"
    body, mac = tokens.verp(ref).split("-")
    other = respell(body, BASE32)
    assert base64.b32decode(other.upper() + "====") == base64.b32decode(body.upper() + "====")
    assert tokens.read_verp(f"{body}-{mac}".upper()) == ref
    assert tokens.read_verp(f"{other}-{mac}") is None and tokens.read_verp(f"{body}-{tamper(mac, BASE32)}") is None


def test_click_tokens_are_per_purpose():
    tokens = Tokens("k")
    token = tokens.click_token("ref", "camp", 3)
    assert tokens.read_click(token) == ("ref", "camp", 3)
    assert tokens.open.unsign(token) is None and tokens.unsubscribe.unsign(token) is None
    assert Tokens("other").read_click(token) is None


@pytest.mark.parametrize("agent, ip, seconds, expected", [
    ("Mozilla/5.0 (Windows NT 10.0) Thunderbird/128", "198.51.100.1", 600, None),
    ("Mozilla/5.0 (via ggpht.com GoogleImageProxy)", "66.249.1.1", 600, "gmail-proxy"),
    ("YahooMailProxy; https://help.yahoo.com", None, 600, "yahoo-proxy"),
    ("Mozilla/5.0", "17.58.100.1", 600, "apple-mpp"),
    ("Mozilla/5.0", "::ffff:17.58.100.1", 600, "apple-mpp"),
    ("Mozilla/5.0 Barracuda", "203.0.113.9", 600, "scanner"),
    ("", "203.0.113.9", 600, "scanner"),
    ("Mozilla/5.0 (Macintosh) AppleWebKit", "203.0.113.9", 2, "too-soon"),
])
def test_machine_opens(agent, ip, seconds, expected):
    assert machine_open(agent, ip, seconds, 10) == expected


def test_ips_are_truncated():
    assert truncate_ip("203.0.113.77") == "203.0.113.0"
    assert truncate_ip("2001:db8:1:2:3::9") == "2001:db8:1::"
    assert truncate_ip("::ffff:198.51.100.23") == "198.51.100.0"
    assert truncate_ip("not an ip") is None and truncate_ip(None) is None


def test_ips_anywhere_in_a_payload_are_truncated_and_nothing_else_changes():
    payload = {"ip": "50.56.129.169", "client": {"X-Forwarded-For": "198.51.100.23, 2001:db8:1:2::9"},
               "list": ["::ffff:17.1.2.3", "face", "deadbeef", "1"], "Coords": "45.7536,19.9117",
               "text": "from 203.0.113.7", "n": 12, "none": None}
    assert truncate_ips(payload) == payload | {
        "ip": "50.56.129.0", "client": {"X-Forwarded-For": "198.51.100.0, 2001:db8:1::"},
        "list": ["17.1.2.0", "face", "deadbeef", "1"]}


@pytest.mark.parametrize("esp, header, value", [
    ("sendgrid", "X-SMTPAPI", '{"unique_args": {"distribute_delivery": "REF123"}}'),
    ("mailgun", "X-Mailgun-Variables", '{"distribute_delivery": "REF123"}'),
    ("postmark", "X-PM-Metadata-distribute_delivery", "REF123"),
    ("ses", "X-SES-MESSAGE-TAGS", "distribute_delivery=REF123"),
])
def test_esp_metadata_header_carries_the_reference(esp, header, value):
    builder = MessageBuilder(_compiled("<p>x</p>", "x"), Settings(secret_key="k", esp=esp))
    msg = email.message_from_bytes(builder.build(Recipient("a@example.org"), "REF123"), policy=policy.default)
    assert msg[header] == value
    plain = MessageBuilder(_compiled("<p>x</p>", "x"), Settings(secret_key="k"))
    assert header not in email.message_from_bytes(plain.build(Recipient("a@example.org"), "R"), policy=policy.default)


def test_only_real_anchors_are_links_not_href_written_in_text(tmp_path):
    from test_rendering import SETTINGS, make_release

    path = tmp_path / "r.md"
    path.write_text('---\ntitle: T\n---\nLONDON – Type href="https://evil.example/" into the page, or '
                    '<a href="https://evil.example/x">this</a>. Read [the report](https://example.org/report).\n\n'
                    "Xhttps://example.org/report is not a link.\n")
    tracked = add_tracking(compile_release(make_release(path), "journalist", SETTINGS))
    assert [link for link in tracked.links if "example.org/report" in link or "evil" in link] == [
        "https://example.org/report"]
    report = tracked.placeholder(click_name(tracked.links.index("https://example.org/report")))
    shown = lxml.html.document_fromstring(tracked.html).text_content()
    assert 'href="https://evil.example/"' in shown and 'href="https://evil.example/x"' in shown
    assert report in tracked.text and "Xhttps://example.org/report is not a link" in tracked.text
    assert "https://evil.example/" in tracked.text
