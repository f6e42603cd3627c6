"""How the fields of an RFC 3464 report weigh against the reply they carry: a reporting MTA's
own category (PowerMTA), a Status the reporting MTA put on a reply that had none, and an Action
"failed" over a reply that was only ever temporary."""

from __future__ import annotations

import pytest

from distribute.feedback.bounces.report import read_report


def _dsn(fields: str) -> bytes:
    return ("From: MAILER-DAEMON@mx.example.com\nTo: bounces+tok.sig@press.example.org\n"
            "Subject: Delivery report\nContent-Type: multipart/report; report-type=delivery-status; "
            'boundary="B"\n\n--B\nContent-Type: text/plain\n\nThe message was not delivered.\n--B\n'
            "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.com\n\n"
            f"Final-Recipient: rfc822; jane@example.jp\n{fields}\n--B--\n").encode()


def _verdict(fields: str) -> tuple[bool, str]:
    [recipient] = read_report(_dsn(fields)).recipients
    return recipient.hard, recipient.category


_USER_UNKNOWN_521 = "Action: failed\nStatus: 5.2.1\nDiagnostic-Code: smtp;550 5.2.1 <jane@example.jp>... User Unknown\n"


def test_a_reporting_mtas_own_category_says_the_mailbox_is_bad():
    # Without a command, "user unknown" under X.2.1 is what a recipient's filter answers ...
    assert _verdict(_USER_UNKNOWN_521) == (False, "filtered")
    # ... but PowerMTA, which saw the whole exchange, classed it as a bad mailbox.
    assert _verdict(_USER_UNKNOWN_521 + "X-PowerMTA-BounceCategory: bad-mailbox\n") == (True, "mailbox-unknown")


@pytest.mark.parametrize(("category", "want"), [
    ("spam-related", (False, "policy")), ("inactive-mailbox", (False, "filtered")),
    ("quota-issues", (False, "mailbox-full")), ("bad-domain", (True, "mailbox-unknown")),
])
def test_a_reporting_mtas_category_over_a_user_unknown_reply(category, want):
    fields = "Action: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp;550 5.1.1 user unknown\n"
    assert _verdict(fields) == (True, "mailbox-unknown")
    assert _verdict(fields + f"X-PowerMTA-BounceCategory: {category}\n") == want


def test_the_status_keeps_what_the_report_said_under_a_vendor_category():
    [recipient] = read_report(_dsn(_USER_UNKNOWN_521 + "X-PowerMTA-BounceCategory: bad-mailbox\n")).recipients
    assert recipient.status == "5.2.1"


def test_a_security_status_put_on_a_reply_without_one_yields_to_the_replys_words():
    fields = "Action: failed\nStatus: 5.7.1\nDiagnostic-Code: SMTP; 553 Invalid recipient jane@example.jp (Mode: normal)\n"
    assert _verdict(fields) == (True, "mailbox-unknown")
    # The reply's own X.7 code, or words about our sender, keep it a policy refusal.
    assert _verdict(fields.replace("553 Invalid", "553 5.7.1 Invalid")) == (False, "policy")
    assert _verdict("Action: failed\nStatus: 5.7.1\nDiagnostic-Code: SMTP; 550 Not allowed here\n") == (False, "policy")


def test_a_failure_after_every_retry_said_user_unknown_is_final():
    reply = "Diagnostic-Code: smtp; 450 4.1.1 <jane@example.jp>: Recipient address rejected: User unknown in virtual alias table\n"
    assert _verdict("Action: failed\nStatus: 4.1.1\n" + reply) == (True, "mailbox-unknown")
    assert _verdict("Action: delayed\nStatus: 4.1.1\n" + reply)[0] is False
    # A temporary refusal of any other kind stays temporary, failed or not.
    assert _verdict("Action: failed\nStatus: 4.2.2\nDiagnostic-Code: smtp; 452 4.2.2 Mailbox full\n")[0] is False
