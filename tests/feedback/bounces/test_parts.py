"""Finding things in a returned message: the report's own parts, the original's headers, the
prose, decoded header values, our refs and VERP tokens (whole reports: test_bounces)."""

from __future__ import annotations

import email
from email.policy import compat32

from distribute.feedback.bounces import parts

REPORT = b"""\
From: MAILER-DAEMON@mx.example.org
To: bounces+tok123@press.example.org
Subject: Undelivered Mail
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

The mail to <jane@example.com> could not be delivered.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; jane@example.com
Action: failed
Status: 5.1.1

--b1
Content-Type: message/rfc822

Message-ID: <ref-abc@press.example.org>
X-Distribute-Delivery: ref-abc
To: jane@example.com
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain

Our release: not the report's prose.
--inner--

--b1--
"""


def _message(raw: bytes):
    return email.message_from_bytes(raw, policy=compat32)


def test_own_parts_stop_at_the_returned_original():
    found = [part.get_content_type() for part in parts.own_parts(_message(REPORT))]
    assert found == ["multipart/report", "text/plain", "message/delivery-status", "message/rfc822"]


def test_the_originals_headers_give_our_ref_once():
    message = _message(REPORT)
    own = list(parts.own_parts(message))
    originals = parts.originals(own)
    assert [o["To"] for o in originals] == ["jane@example.com"]
    assert "Our release" not in parts.report_text(own)
    assert parts.delivery_refs(parts.report_text(own), originals) == ("ref-abc",)


def test_a_ref_quoted_in_the_prose_when_no_original_is_attached():
    text = ("Delivery failed.\n\n------ This is a copy of the message's headers. ------\n\n"
            "Message-ID: <ref-xyz@press.example.org>\n")
    assert parts.delivery_refs(text, []) == ("ref-xyz",)


def test_verp_tokens_from_the_addresses_the_bounce_was_sent_to():
    assert parts.verp_tokens(_message(REPORT)) == ("tok123",)
    assert parts.verp_tokens(_message(b"To: bounces@press.example.org\n\nx")) == ()


def test_html_only_prose_loses_its_markup_and_an_unclosed_style():
    message = _message(b"Content-Type: text/html; charset=utf-8\n\n"
                       b"<p>User &lt;jane@example.com&gt; unknown</p><style>p { color: red }")
    assert parts.report_text(list(parts.own_parts(message))).split() == ["User", "<jane@example.com>", "unknown"]


def test_header_text_decodes_encoded_words_and_only_the_start_of_a_long_field():
    assert parts.header_text("=?utf-8?q?R=C3=A9ponse_automatique?=") == "Réponse automatique"
    long = "=?utf-8?q?a?= " * 5_000
    decoded = parts.header_text(long)
    assert decoded.startswith("a") and len(decoded) < parts.MAX_ENCODED_HEADER


def test_header_text_reads_raw_utf8_and_iso_2022_jp():
    raw_utf8 = "Jürgen".encode().decode("ascii", "surrogateescape")
    assert parts.header_text(raw_utf8) == "Jürgen"
    jis = "宛先不明".encode("iso2022_jp").decode("ascii", "surrogateescape")
    assert parts.header_text(jis) == "宛先不明"


def test_addresses_reads_only_the_start_of_a_huge_header():
    values = ["a@example.org, " * 20_000]
    found = parts.addresses(values)
    assert found[0] == "a@example.org"
    assert len(found) <= parts.MAX_TEXT // len("a@example.org, ") + 1
