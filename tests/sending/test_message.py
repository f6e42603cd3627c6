"""The per-recipient message: headers (RFC 8058 unsubscribe, List-Id, our delivery header, an
ESP's metadata header), encoding, header injection, escaping, and personalisation that release
text can never reach."""

from __future__ import annotations

import email
from email import policy

import lxml.html
import pytest

from distribute.config import Settings
from distribute.releases.links import OPEN_PIXEL, add_tracking
from distribute.releases.rendering import PLACEHOLDERS, VARIANTS, compile_release
from distribute.sending.message import MessageBuilder, Recipient
from distribute.signing import DELIVERY_HEADER, LinkSigner

from release_helpers import SETTINGS, compiled, parse


def test_headers_rfc8058_list_id_message_id_and_delivery_id(sample):
    builder = MessageBuilder(compile_release(sample, "journalist", SETTINGS), SETTINGS, campaign_ref="c42")
    msg = parse(builder.build(Recipient("amira@levant.example", "Amira Haddad"), "Ref_abc-1"))
    token = LinkSigner("test-secret-key-for-distribute-tests", "unsubscribe").sign("Ref_abc-1")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["List-Unsubscribe"] == (
        f"<mailto:unsubscribe@example.org?subject=unsubscribe%20{token}>, <https://press.example.org/unsubscribe/{token}>"
    )
    assert msg["List-Id"] == "Example Advocacy Network journalists <journalist.c42.example.org>"
    assert msg["Message-ID"] == "<Ref_abc-1@example.org>"
    assert msg[DELIVERY_HEADER] == "Ref_abc-1"
    assert msg["From"] == "Press Office <press@example.org>"
    assert msg["Reply-To"] == "Nadia Benali <press@example.org>"
    assert msg["To"] == "Amira Haddad <amira@levant.example>"
    assert email.utils.parsedate_to_datetime(msg["Date"]).tzinfo is not None
    assert msg["Subject"] == sample.title


def test_personalised_links_survive_css_inlining(sample):
    """premailer rewrites attribute values; the per-recipient URL must come out exactly as signed."""
    builder = MessageBuilder(compile_release(sample, "journalist", SETTINGS), SETTINGS)
    _, html = builder.personalise(Recipient("a@b.example", "A B"), "Ref with-odd_chars")
    expected = builder.unsubscribe_url("Ref with-odd_chars")
    hrefs = [a.get("href") for a in lxml.html.document_fromstring(html).iter("a")]
    assert expected in hrefs
    token = expected.rsplit("/", 1)[1]
    assert LinkSigner("test-secret-key-for-distribute-tests", "unsubscribe").unsign(token) == "Ref with-odd_chars"
    assert "DX__" not in html


def test_non_ascii_subject_and_names_are_encoded(sample):
    sample.title = "Crise à Alep : « jamais plus »"
    builder = MessageBuilder(compile_release(sample, "journalist", SETTINGS), SETTINGS)
    raw = builder.build(Recipient("sofia@diario.example", "Sofía Reyes, \"El Diario\""), "r1")
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert "=?utf-8?" in head.split("Subject:", 1)[1].split("\r\n")[0]
    msg = parse(raw)
    assert msg["Subject"] == "Crise à Alep : « jamais plus »"
    assert msg["To"].addresses[0].display_name == "Sofía Reyes, \"El Diario\""
    assert msg["To"].addresses[0].addr_spec == "sofia@diario.example"


@pytest.mark.parametrize("field", ["name", "outlet", "title"])
def test_crlf_in_any_field_never_makes_a_header(sample, field):
    evil = "Evil\r\nBcc: victim@example.com\r\nX-Injected: 1"
    recipient = Recipient("a@b.example", evil if field == "name" else "A", evil if field == "outlet" else None)
    if field == "title":
        sample.title = evil
    builder = MessageBuilder(compile_release(sample, "journalist", SETTINGS), SETTINGS)
    msg = parse(builder.build(recipient, "r1"))
    assert msg["Bcc"] is None and msg["X-Injected"] is None
    assert len(msg.get_all("To")) == 1


def test_per_recipient_values_are_html_escaped(sample):
    builder = MessageBuilder(compile_release(sample, "supporter", SETTINGS), SETTINGS)
    text, html = builder.personalise(Recipient("a@b.example", "<b>Bob</b> & Co", "<i>Outlet</i>"), "r")
    assert "&lt;b&gt;Bob&lt;/b&gt; &amp; Co" in html and "<b>Bob</b>" not in html
    assert "<b>Bob</b> & Co" in text  # the text part is text


# Every name the builder fills in (and one it does not know), as placeholders were written before
# each compile drew its own marker, and in the shape of a drawn marker.
_NAMES = (*PLACEHOLDERS, OPEN_PIXEL, "click_a", "click_b", "no_such_thing")


_LOOKALIKES = [f"{marker}__{name.upper()}__DX" for name in _NAMES for marker in ("DX", "DX" + "q" * 20)]


def _parts(builder: MessageBuilder) -> tuple[str, str]:
    msg = parse(builder.build(Recipient("ann@example.net", "Ann Bee", "The Times"), "ref1"))
    text = " ".join(msg.get_body(("plain",)).get_content().split())
    html = msg.get_body(("html",)).get_content()
    return text, html


@pytest.mark.parametrize("field", ["title", "subtitle", "body", "contact", "boilerplate"])
def test_release_text_never_reaches_personalisation_as_syntax(sample, field):
    """A release that writes the builder's own placeholder syntax gets that text, as text: no
    KeyError in check or preview, and never a recipient's link or name in its place."""
    expected = {}
    for variant in VARIANTS:
        builder = MessageBuilder(add_tracking(compile_release(sample, variant, SETTINGS)), SETTINGS)
        text, html = _parts(builder)
        expected[variant] = (text.count(builder.unsubscribe_url("ref1")), html.count(builder.unsubscribe_url("ref1")),
                             text.count("Ann Bee"), html.count("Ann Bee"))
    words = " ".join(_LOOKALIKES)
    if field == "body":
        sample.body += f"\n\n{words}\n"
    elif field == "contact":
        sample.contacts = [sample.contacts[0] | {"name": words, "title": words, "organisation": words, "phones": [words]}]
    else:
        setattr(sample, field, words)
    for variant in VARIANTS:
        builder = MessageBuilder(add_tracking(compile_release(sample, variant, SETTINGS)), SETTINGS)
        text, html = _parts(builder)
        shown = " ".join(lxml.html.document_fromstring(html).text_content().split())
        for literal in _LOOKALIKES if field != "contact" or variant == "journalist" else ():
            assert literal in text and literal in shown, (variant, literal)  # supporters see no media contact
        assert (text.count(builder.unsubscribe_url("ref1")), html.count(builder.unsubscribe_url("ref1")),
                text.count("Ann Bee"), html.count("Ann Bee")) == expected[variant]


@pytest.mark.parametrize("esp, header, value", [
    ("sendgrid", "X-SMTPAPI", '{"unique_args": {"distribute_delivery": "REF123"}}'),
    ("mailgun", "X-Mailgun-Variables", '{"distribute_delivery": "REF123"}'),
    ("postmark", "X-PM-Metadata-distribute_delivery", "REF123"),
    ("ses", "X-SES-MESSAGE-TAGS", "distribute_delivery=REF123"),
])
def test_esp_metadata_header_carries_the_reference(esp, header, value):
    builder = MessageBuilder(compiled("<p>x</p>", "x"), Settings(secret_key="k", esp=esp))
    msg = email.message_from_bytes(builder.build(Recipient("a@example.org"), "REF123"), policy=policy.default)
    assert msg[header] == value
    plain = MessageBuilder(compiled("<p>x</p>", "x"), Settings(secret_key="k"))
    assert header not in email.message_from_bytes(plain.build(Recipient("a@example.org"), "R"), policy=policy.default)
