"""Asynchronous bounces: the corpus in tests/data/bounces (flufl.bounce's samples and our own,
each with its expected classification in expected.json), and the parts around it.

No database: reading and judging returned mail is pure code.
"""

from __future__ import annotations

import json
import mailbox
import socket

import hostile
import pytest
from click.testing import CliRunner

from distribute.cli.bounces import bounces
from distribute.feedback.bounces.classify import bounce_kind, judge
from distribute.feedback.bounces.mailbox import MailboxError, iter_messages
from distribute.feedback.bounces.report import BounceRecipient, Report, read_report
from distribute.feedback.replies import CATEGORIES, classify_reply

from conftest import DATA

CORPUS = DATA / "bounces"
EXPECTED: dict[str, dict] = json.loads((CORPUS / "expected.json").read_text())


def _read(name: str) -> Report:
    return read_report((CORPUS / name).read_bytes())


def _mismatches(name: str, want: dict, got: Report) -> list[str]:
    """What differs between a report and its expected classification (empty: a match)."""
    problems = []
    if got.kind != want["kind"]:
        problems.append(f"kind {got.kind!r}, expected {want['kind']!r}")
    if "recipients" in want:
        found = {r.address.lower() if r.address else None: r for r in got.recipients}
        wanted = {address.lower(): value for address, value in want["recipients"].items()}
        if set(found) != set(wanted):
            problems.append(f"recipients {sorted(map(str, found))}, expected {sorted(wanted)}")
        for address, value in wanted.items():
            r = found.get(address)
            if r is None:
                continue
            for field in ("status", "hard", "kind"):
                if getattr(r, field) != value[field]:
                    problems.append(f"{address} {field} {getattr(r, field)!r}, expected {value[field]!r}")
    for field in ("feedback_type", "complaint_address"):
        if field in want and getattr(got, field) != want[field]:
            problems.append(f"{field} {getattr(got, field)!r}, expected {want[field]!r}")
    return problems


def test_corpus_is_large_and_varied():
    assert len(EXPECTED) >= 40
    kinds = {entry["kind"] for entry in EXPECTED.values()}
    assert kinds == {"bounce", "delay", "autoreply", "complaint", "other"}
    on_disk = {str(p.relative_to(CORPUS)) for p in CORPUS.glob("*/*") if p.suffix in (".txt", ".eml")}
    assert on_disk == set(EXPECTED), "every sample has an expectation and every expectation a sample"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_message(name):
    report = _read(name)
    assert _mismatches(name, EXPECTED[name], report) == []
    for recipient in report.recipients:
        assert recipient.category in CATEGORIES
        assert recipient.kind in ("hard", "soft", "block", "none")
        assert recipient.hard == (recipient.kind == "hard")
        if recipient.hard:
            assert recipient.action == "failed"
    if report.kind != "bounce":
        assert not any(r.hard for r in report.recipients)


def test_corpus_summary(capsys):
    """Accuracy (kind and every recipient's hard flag right) and the false-hard rate (non-hard
    recipients judged hard), printed past pytest's capture, so shown with or without -s."""
    right, non_hard, false_hard = 0, 0, 0
    for name, want in EXPECTED.items():
        report = _read(name)
        hard_by_address = {(r.address or "").lower(): r.hard for r in report.recipients}
        wanted = {address.lower(): value["hard"] for address, value in want.get("recipients", {}).items()}
        if report.kind == want["kind"] and all(hard_by_address.get(a) == h for a, h in wanted.items()):
            right += 1
        for address, hard in wanted.items():
            if not hard:
                non_hard += 1
                false_hard += bool(hard_by_address.get(address))
    accuracy = right / len(EXPECTED)
    false_hard_rate = false_hard / non_hard if non_hard else 0.0
    line = (f"bounce corpus: {len(EXPECTED)} messages, accuracy {accuracy:.3f}, "
            f"false-hard {false_hard}/{non_hard} = {false_hard_rate:.3f}")
    with capsys.disabled():
        print(f"\n{line}")
    assert accuracy >= 0.95
    assert false_hard == 0


# --- the judgement --------------------------------------------------------------------------


def test_dsn_recipient_goes_through_classify_reply():
    # The same reply, synchronous or in a DSN, gets the same verdict.
    text = "550 5.1.1 <jane@example.com>: Recipient address rejected: User unknown"
    assert judge("smtp; " + text, "5.1.1") == classify_reply(550, text)
    # Without a code of its own, the DSN Status supplies the class and the detail.
    assert judge("User unknown", "5.1.1").hard
    assert judge("", "4.4.7").action == "retry"
    assert not judge("", "5.0.0").hard


@pytest.mark.parametrize("code, text, kind", [
    (550, "5.1.1 user unknown", "hard"),
    (550, "5.1.2 host not found", "hard"),
    (550, "5.1.6 mailbox has moved", "hard"),
    (552, "5.2.2 mailbox full", "soft"),
    (452, "4.2.2 over quota", "soft"),
    (550, "5.4.7 delivery time expired", "soft"),
    (450, "4.4.7 delivery time expired", "soft"),
    (421, "4.7.0 try again later", "soft"),
    (550, "5.7.1 blocked using zen.spamhaus.org, user unknown", "block"),
    (550, "5.7.1 message rejected by policy", "block"),
    (550, "5.7.26 DMARC policy", "block"),
    (554, "5.7.1 spam detected", "block"),
    (552, "5.3.4 message too big", "block"),
    (550, "5.7.1 relaying denied", "block"),
    (250, "2.0.0 ok", "none"),
])
def test_bounce_kind(code, text, kind):
    assert bounce_kind(classify_reply(code, text)) == kind


@pytest.mark.parametrize("text", [
    "Quota violation for userx@example.com", "recipient reached disk quota",
    "the user's mailfolder is full", "This person's account is exceeding their quota",
    "Message for <x@example.com> would exceed mailbox quota",
])
def test_mailbox_full_wordings_found_in_returned_mail(text):
    verdict = classify_reply(552, text)
    assert (verdict.category, verdict.hard) == ("mailbox-full", False)


@pytest.mark.parametrize("text", ["5.3.0 <x@example.net>... Addressee unknown", "Invalid final delivery userid",
                                  "5.3.0 <x@example.com>... No such user here"])
def test_unknown_user_wordings_found_in_returned_mail(text):
    assert classify_reply(553, text).hard


# --- what a report says -----------------------------------------------------------------------


def _dsn(*, action="failed", status="5.1.1", diagnostic="smtp; 550 5.1.1 user unknown", extra_headers="",
         original="To: jane@example.com\nMessage-ID: <ref123@press.example.org>\nX-Distribute-Delivery: ref123\n"):
    return f"""From: MAILER-DAEMON@mx.example.com
To: bounces+tok.sig@press.example.org
Delivered-To: bounces+tok.sig@press.example.org
Subject: Undelivered Mail Returned to Sender
{extra_headers}Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

The mail system
--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com

Final-Recipient: rfc822; Jane@Example.COM
Action: {action}
Status: {status}
Diagnostic-Code: {diagnostic}

--B
Content-Type: message/rfc822

{original}
body
--B--
""".encode()


def test_delivery_refs_from_header_and_message_id():
    report = read_report(_dsn())
    assert report.delivery_refs == ("ref123",)  # both name the same delivery: kept once
    report = read_report(_dsn(original="Message-ID: <abc@press.example.org>\nX-Distribute-Delivery: xyz\n"))
    assert report.delivery_refs == ("xyz", "abc")
    headers_only = _dsn().replace(b"message/rfc822", b"text/rfc822-headers")
    assert read_report(headers_only).delivery_refs == ("ref123",)


def test_delivery_refs_from_an_original_quoted_in_prose():
    raw = (CORPUS / "own" / "exim-550.eml").read_bytes()
    assert read_report(raw).delivery_refs == ("r7t1",)


def test_verp_tokens():
    raw = b"""From: MAILER-DAEMON@mx.example.com
To: "Bounces" <bounces+AbC.123@press.example.org>
Delivered-To: bounces+AbC.123@press.example.org
X-Original-To: bounces+second@press.example.org
Envelope-To: plain@press.example.org
Return-Path: <>
Subject: failure notice

Hi. This is the qmail-send program at mx.example.com.
"""
    assert read_report(raw).verp_tokens == ("AbC.123", "second")
    assert read_report(_dsn()).verp_tokens == ("tok.sig",)


def test_address_domain_lowercased_and_prefix_stripped():
    (recipient,) = read_report(_dsn()).recipients
    assert recipient.address == "Jane@example.com"
    assert (recipient.status, recipient.hard, recipient.kind, recipient.category) == ("5.1.1", True, "hard",
                                                                                      "mailbox-unknown")


def test_delay_is_not_a_bounce():
    report = read_report(_dsn(action="delayed", status="4.4.1", diagnostic="smtp; 451 4.4.1 no answer"))
    assert report.kind == "delay" and not report.is_bounce
    assert [(r.action, r.hard, r.kind) for r in report.recipients] == [("delayed", False, "soft")]
    # even a 5xx diagnostic does not make a delayed recipient hard (RFC 3464 2.3.3)
    report = read_report(_dsn(action="delayed", status="5.1.1"))
    assert report.kind == "delay" and not report.recipients[0].hard


def test_autoreply_is_not_a_bounce():
    raw = b"From: sam@paper.example\nTo: press@press.example.org\nSubject: Re: statement\n" \
          b"Auto-Submitted: auto-replied\n\nI am away until Monday.\n"
    assert read_report(raw).kind == "autoreply"
    raw = b"From: sam@paper.example\nSubject: Out of Office: statement\n\nAway.\n"
    assert read_report(raw).kind == "autoreply"
    # RFC 3834 auto-generated is a report, not a reply: this plain mail is just "other"
    raw = b"From: sam@paper.example\nSubject: Newsletter\nAuto-Submitted: auto-generated\n\nHello\n"
    assert read_report(raw).kind == "other"
    # a real DSN wins over auto-reply headers
    assert read_report(_dsn(extra_headers="Auto-Submitted: auto-replied\nX-Autoreply: yes\n")).kind == "bounce"


def test_arf_complaint():
    report = _read("own/arf-abuse.eml")
    assert (report.kind, report.mta, report.feedback_type, report.complaint_address) == (
        "complaint", "arf", "abuse", "Reader@isp.example")
    assert report.delivery_refs == ("c0mp1a1n7",)
    assert report.recipients == ()
    # Without Original-Rcpt-To (it is optional): the To of the returned headers.
    report = _read("own/arf-redacted.eml")
    assert (report.feedback_type, report.complaint_address) == ("fraud", "reader2@hotmail.example")


@pytest.mark.parametrize("raw", [
    b"", b"\x00\xff\xfe garbage", b"not an email at all", b"\n\n\n", b"Content-Type: multipart/report\n\n--",
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\n\n--x\n"
    b"Content-Type: message/delivery-status\n\nAction: \xff\xfe\n\nStatus: 9.9\n--x--",
    b"Content-Type: message/rfc822\n\nContent-Type: multipart/report; boundary=y\n\n--y--",
    b"From: =?utf-8?b?!!!?=\nSubject: =?bogus?q?x?=\nContent-Type: text/plain; charset=nonexistent\n\n\xe9\xe8",
    b"Subject: Undelivered Mail Returned to Sender\nFrom: MAILER-DAEMON@x\n\n<@>: 550\n<a@b.c>:\n",
    bytes(range(256)) * 20,
])
def test_garbage_never_raises(raw):
    report = read_report(raw)
    assert isinstance(report, Report)
    assert all(isinstance(r, BounceRecipient) for r in report.recipients)


# --- mailboxes ------------------------------------------------------------------------------


def _sample(name="own/rfc3464-postfix-511.eml") -> bytes:
    return (CORPUS / name).read_bytes()


def test_maildir_yields_unseen_and_done_marks_seen(tmp_path):
    box = mailbox.Maildir(tmp_path / "bounces", create=True)
    box.add(_sample())
    seen = mailbox.MaildirMessage(_sample("own/not-a-bounce.eml"))
    seen.set_subdir("cur")
    seen.add_flag("S")
    box.add(seen)
    items = list(iter_messages(tmp_path / "bounces"))
    assert len(items) == 1 and items[0].label.startswith("maildir:new/")
    assert read_report(items[0].raw).kind == "bounce"
    # not acknowledged: read again next time
    assert len(list(iter_messages(tmp_path / "bounces"))) == 1
    items[0].done()
    assert list(iter_messages(tmp_path / "bounces")) == []
    box = mailbox.Maildir(tmp_path / "bounces", create=False)
    assert [(m.get_subdir(), m.get_flags()) for m in box] == [("cur", "S")] * 2
    assert not list((tmp_path / "bounces" / "new").iterdir())


def test_mbox_and_eml_files(tmp_path):
    path = tmp_path / "bounces.mbox"
    box = mailbox.mbox(path, create=True)
    box.add(_sample())
    box.add(_sample("own/qmail-two.eml"))
    box.flush()
    box.close()
    before = path.read_bytes()
    items = list(iter_messages(path))
    assert [item.label for item in items] == [f"mbox:{path}#0", f"mbox:{path}#1"]
    assert [read_report(item.raw).mta for item in items] == ["postfix", "qmail"]
    for item in items:
        item.done()
    assert path.read_bytes() == before  # an mbox is never rewritten

    folder = tmp_path / "emls"
    folder.mkdir()
    (folder / "b.eml").write_bytes(_sample("own/qmail-two.eml"))
    (folder / "a.eml").write_bytes(_sample())
    (folder / "notes.txt").write_text("not mail")
    assert [item.label for item in iter_messages(folder)] == [f"file:{folder / 'a.eml'}", f"file:{folder / 'b.eml'}"]
    assert [item.raw for item in iter_messages(folder / "a.eml")] == [_sample()]
    with pytest.raises(MailboxError, match="missing: no such file or folder"):
        iter_messages(tmp_path / "missing")


def test_a_message_over_max_bytes_is_sized_not_read(tmp_path):
    small, big = _sample(), _sample() + b"x" * 20_000
    limit = len(small) + 1000
    box = mailbox.Maildir(tmp_path / "maildir", create=True)
    box.add(small)
    box.add(big)
    items = sorted(iter_messages(tmp_path / "maildir", max_bytes=limit), key=lambda item: item.size)
    assert [(item.raw, item.size) for item in items] == [(small, len(small)), (None, len(big))]
    for item in items:
        item.done()
    assert list(iter_messages(tmp_path / "maildir", max_bytes=limit)) == []
    # marked seen by renaming the file: neither message is rewritten
    kept = sorted((tmp_path / "maildir" / "cur").iterdir(), key=lambda path: path.stat().st_size)
    assert [path.read_bytes() for path in kept] == [small, big]
    assert all(path.name.endswith(":2,S") for path in kept)

    path = tmp_path / "bounces.mbox"
    box = mailbox.mbox(path, create=True)
    box.add(big)
    box.add(small)
    box.flush()
    box.close()
    assert [(item.raw, item.size > limit) for item in iter_messages(path, max_bytes=limit)] == [(None, True),
                                                                                               (small, False)]
    (tmp_path / "big.eml").write_bytes(big)
    items = list(iter_messages(tmp_path / "big.eml", max_bytes=limit))
    assert [(item.raw, item.size) for item in items] == [(None, len(big))]
    assert [item.raw for item in iter_messages(tmp_path / "big.eml")] == [big]  # no limit given


# --- reading each format: the rules behind the figures on sisimai's corpus ----------------------
# (bench/bounce_corpus.py measures them on real bounces; these are small ones written for each rule)

_DAEMON = "From: MAILER-DAEMON@mx.example.com\nTo: bounces+tok.sig@press.example.org\n"


def _report(prose: str, fields: str, *, subject="Undelivered Mail Returned to Sender", reporting="mx.example.com"):
    """A multipart/report with a prose part and a delivery-status part (blocks as given)."""
    return (f'{_DAEMON}Subject: {subject}\nContent-Type: multipart/report; report-type=delivery-status; '
            f'boundary="B"\n\n--B\nContent-Type: text/plain\n\n{prose}\n--B\n'
            f"Content-Type: message/delivery-status\n\nReporting-MTA: dns; {reporting}\n\n{fields}\n"
            "--B\nContent-Type: text/rfc822-headers\n\nTo: jane@example.com\nMessage-ID: <ref1@press.example.org>\n"
            "\n--B--\n").encode()


def _verdicts(raw: bytes) -> list[tuple]:
    return [(r.address, r.hard, r.category) for r in read_report(raw).recipients]


def test_dsn_recipients_run_together_without_a_blank_line():
    fields = ("Final-Recipient: rfc822; full@example.jp\nAction: failed\nStatus: 5.2.2\n"
              "Diagnostic-Code: smtp; 550 5.2.2 <full@example.jp>... Mailbox Full\n"
              "Final-Recipient: rfc822; gone@example.jp\nOriginal-Recipient: rfc822;gone@example.jp\nAction: failed\n"
              "Status: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 <gone@example.jp>... User Unknown")
    assert _verdicts(_report("Delivery failed.", fields)) == [
        ("full@example.jp", False, "mailbox-full"), ("gone@example.jp", True, "mailbox-unknown")]


def test_dsn_part_running_on_past_a_misspelt_boundary_adds_no_recipient():
    raw = _report("Delivery failed.", "Final-Recipient: rfc822; jane@example.com\nAction: failed\nStatus: 5.1.1\n\n"
                  "--B-typo\nContent-Type: text/rfc822-headers\n\nReceived: from x by y\nFrom: press@press.example.org")
    assert _verdicts(raw) == [("jane@example.com", True, "mailbox-unknown")]


@pytest.mark.parametrize(("said", "hard", "category"), [
    ("(in reply to RCPT TO command)", True, "mailbox-unknown"),
    ("(in reply to end of DATA command)", False, "filtered"),  # a filter: the address was accepted
])
def test_postfix_says_which_command_was_refused(said, hard, category):
    prose = ("This is the mail system at host mx.example.com.\n\n<jane@example.jp>: host mx.example.jp[192.0.2.1] "
             f"said: 550\n    Unknown user jane@example.jp {said}\n")
    fields = "Final-Recipient: rfc822; jane@example.jp\nAction: failed\nStatus: 5.0.0\n" \
             "Diagnostic-Code: smtp; 550 Unknown user jane@example.jp"
    assert _verdicts(_report(prose, fields)) == [("jane@example.jp", hard, category)]


@pytest.mark.parametrize(("after", "hard", "category"), [
    ("RCPT TO:<jane@example.org>", True, "mailbox-unknown"),
    ("end of data", False, "filtered"),
    ("MAIL FROM:<press@press.example.org> SIZE=1022", False, "policy"),  # our sender, not Jane
])
def test_exim_says_which_command_was_refused(after, hard, category):
    raw = (f"{_DAEMON}Subject: Mail delivery failed: returning message to sender\n\n"
           "This message was created automatically by mail delivery software.\n\n"
           "A message that you sent could not be delivered to one or more of its\n"
           "recipients. This is a permanent error. The following address(es) failed:\n\n"
           "  jane@example.org\n    host mx.example.org [192.0.2.2]\n"
           f"    SMTP error from remote mail server after {after}:\n    550 unknown user\n").encode()
    assert _verdicts(raw) == [("jane@example.org", hard, category)]


def _sendmail(transcript: str) -> bytes:
    return (f"{_DAEMON}Subject: Returned mail: see transcript for details\n\n"
            "   ----- The following addresses had permanent fatal errors -----\n<jane@example.net>\n"
            "    (reason: 550 Unknown user)\n\n   ----- Transcript of session follows -----\n"
            f"... while talking to mx.example.net.:\n{transcript}\n").encode()


def test_sendmail_transcript_refusal_after_data():
    # Sendmail's own "Service unavailable" for the message: the reply answered DATA.
    raw = _sendmail(">>> DATA\n<<< 550 Unknown user\n554 5.0.0 Service unavailable")
    assert _verdicts(raw) == [("jane@example.net", False, "filtered")]


def test_sendmail_pipelined_transcript_refusal_of_rcpt():
    # With PIPELINING the RCPT TO refusal is printed under DATA; the "503 need RCPT" that answers
    # DATA shows that the recipient, not the message, was refused.
    raw = _sendmail(">>> DATA\n<<< 550 Unknown user\n550 5.1.1 <jane@example.net>... User unknown\n"
                    "<<< 503 5.0.0 Need RCPT (recipient)")
    assert _verdicts(raw) == [("jane@example.net", True, "mailbox-unknown")]


def test_a_refusal_that_names_no_recipient_is_a_filters():
    raw = (f"{_DAEMON}Subject: Delivery Status Notification (Failure)\n\n** Address not found **\n\n"
           "Your message wasn't delivered to jane@example.jp because the address couldn't be found.\n\n"
           "The response was:\n\n550 : User unknown\n").encode()
    assert _verdicts(raw) == [("jane@example.jp", False, "filtered")]


def test_ses_receiving_rule_bounce_is_not_a_dead_address():
    fields = ("Action: failed\nFinal-Recipient: rfc822; jane@example.jp\n"
              "Diagnostic-Code: smtp; 550 5.1.1 Mailbox does not exist\nStatus: 5.1.1")
    assert _verdicts(_report("This message could not be delivered.", fields,
                             reporting="inbound-smtp.us-west-2.amazonaws.com")) == [("jane@example.jp", False, "filtered")]
    assert _verdicts(_report("This message could not be delivered.", fields)) == [
        ("jane@example.jp", True, "mailbox-unknown")]


def test_x_unix_diagnostic_is_a_local_program_not_the_address():
    fields = ("Final-Recipient: rfc822; jane@example.org\nAction: failed\nStatus: 5.1.1\n"
              'Diagnostic-Code: x-unix; procmail: Couldn\'t create "/var/mail/jane" id: r.example.org: No such user')
    assert _verdicts(_report("Delivery failed.", fields)) == [("jane@example.org", False, "other")]


@pytest.mark.parametrize(("prose", "category"), [
    ("Your message to <jane> was automatically rejected:\nNot enough disk space", "mailbox-full"),
    ("The user(s) account is disabled.\n\n<jane@example.com>: 550 user unknown", "disabled"),
])
def test_a_report_whose_own_words_say_the_mailbox_exists(prose, category):
    fields = "Final-Recipient: rfc822; jane@example.com\nAction: failed\nStatus: 5.1.1\n"
    raw = _report(prose, fields + "Diagnostic-Code: smtp; 550 5.1.1 <jane@example.com>... User Unknown")
    assert _verdicts(raw) == [("jane@example.com", False, category)]
    # the reply a report quotes is not its own word
    quoted = _report("<jane@example.com>: host mx said: 550 5.1.1 This account has been disabled, user unknown",
                     fields + "Diagnostic-Code: smtp; 550 5.1.1 This account has been disabled, user unknown")
    assert _verdicts(quoted) == [("jane@example.com", True, "mailbox-unknown")]


def test_iso_2022_jp_diagnostic_code_is_read():
    diagnostic = "X-Notes; ユーザーJane (jane@example.co.jp) は Domino ディレクトリには見つかりません。"
    raw = _report("Delivery failed.", "Final-Recipient: rfc822; jane@example.co.jp\nAction: failed\nStatus: 5.0.0\n"
                  "Diagnostic-Code: ").replace(b"Status: 5.0.0\nDiagnostic-Code: ",
                                               b"Status: 5.0.0\nDiagnostic-Code: " + diagnostic.encode("iso2022_jp"))
    assert _verdicts(raw) == [("jane@example.co.jp", True, "mailbox-unknown")]


@pytest.mark.parametrize("reason", ["User  not listed in public Name & Address Book",
                                    "ディレクトリのリストにありません"])
def test_lotus_notes_reason_stands_above_the_address(reason):
    raw = (f"From: postmaster@notes.example.co.jp\nTo: press@press.example.org\nSubject: Undeliverable message\n"
           "Content-Type: text/plain; charset=utf-8\n\n------- Failure Reasons  --------\n\n"
           f"{reason}\njane@example.co.jp\n\n------- Returned Message --------\nReceived: from x by y\n").encode()
    assert _verdicts(raw) == [("jane@example.co.jp", True, "mailbox-unknown")]


def test_ses_notification_by_mail():
    event = {"notificationType": "Bounce", "bounce": {"bounceType": "Permanent", "bouncedRecipients": [
        {"emailAddress": "jane@example.com", "action": "failed", "status": "5.1.1",
         "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]}, "mail": {"destination": ["jane@example.com"]}}
    envelope = json.dumps({"Type": "Notification", "Message": json.dumps(event)}, indent=1)
    wrapped = envelope.replace("user unknown", "user\n unknown")  # a transport folded the long line
    raw = f"From: no-reply@sns.amazonaws.com\nSubject: AWS Notification Message\n\n{wrapped}\n".encode()
    report = read_report(raw)
    assert (report.kind, report.mta) == ("bounce", "ses")
    assert _verdicts(raw) == [("jane@example.com", True, "mailbox-unknown")]
    complaint = {"notificationType": "Complaint", "complaint": {"complaintFeedbackType": "abuse",
                                                                 "complainedRecipients": [{"emailAddress": "j@x.org"}]}}
    report = read_report(f"Subject: AWS Notification Message\n\n{json.dumps(complaint)}\n".encode())
    assert (report.kind, report.feedback_type, report.complaint_address) == ("complaint", "abuse", "j@x.org")
    assert read_report(b"Subject: hello\n\n{\"notificationType\": [[[[[[\n").kind == "other"


def test_a_multipart_whose_boundary_never_comes_is_read_as_text():
    # "boundary=" on a folded line without its indent: the parser never finds the parts.
    raw = (f"{_DAEMON}Subject: Mail System Error\nContent-Type: multipart/alternative;\nboundary=\"XX\"\n\n"
           "--XX\nContent-Type: text/plain\n\nError: Invalid user address\n\nError message below:\n"
           "550 - Requested action not taken: no such user here\n\nMessage details:\n"
           "  MAIL FROM: press@press.example.org\n  RCPT TO: jane@vtext.example\n--XX--\n").encode()
    assert _verdicts(raw) == [("jane@vtext.example", True, "mailbox-unknown")]


def test_a_forwarded_report_names_no_message_id_as_a_recipient():
    raw = ("From: colleague@press.example.org\nTo: bounces+tok.sig@press.example.org\nSubject: Fwd: Returned mail\n\n"
           "Begin forwarded message:\n\n> From: Mail Delivery Subsystem <MAILER-DAEMON>\n>\n"
           ">    ----- The following addresses had permanent fatal errors -----\n> <jane@example.com>\n"
           ">     (reason: 550 5.1.1 <jane@example.com>... User unknown)\n>\n"
           "> Message-Id: <6D73-04A1@press.example.org>\n> Return-Path: <press@press.example.org>\n"
           "> Received: from mx.example.org\n").encode()
    assert _verdicts(raw) == [("jane@example.com", True, "mailbox-unknown")]


def test_exchange_summary_above_the_list_names_no_recipient():
    raw = (f"{_DAEMON}Subject: Undeliverable: News\n\nYour message did not reach some or all of the intended "
           "recipients.\n\n      To:\tdesk@paper.example\n      Subject:\tNews\n\n"
           "The following recipient(s) could not be reached:\n\n      jane@example.com on 4/29/01 11:34 PM\n"
           "            The e-mail account does not exist at the organization this message was sent to.\n").encode()
    assert _verdicts(raw) == [("jane@example.com", True, "mailbox-unknown")]


def test_a_daemon_address_in_a_sentence_about_its_delivery_is_the_recipient():
    raw = (f"{_DAEMON}Subject: Mail delivery failed\n\nThis is the DragonFly Mail Agent at mx.example.com.\n\n"
           "There was an error delivering your mail to <postmaster@nxdomain.example>.\n\n"
           "DNS lookup failure: host nxdomain.example not found\n\nMessage headers follow.\n\n"
           "From: <press@press.example.org>\n").encode()
    assert _verdicts(raw) == [("postmaster@nxdomain.example", True, "domain-unknown")]
    # ... but one that signs a report is not
    raw = (f"{_DAEMON}Subject: Mail delivery failed\n\n<jane@example.com>: 550 5.1.1 user unknown\n\n"
           "Questions: <postmaster@mx.example.com>\n").encode()
    assert _verdicts(raw) == [("jane@example.com", True, "mailbox-unknown")]


# --- hostile input: anyone can mail the bounce address ---------------------------------------


@pytest.mark.parametrize("name", list(hostile.MESSAGES))
def test_a_hostile_message_is_classified_in_little_time(name, tmp_path):
    path = tmp_path / "hostile.eml"
    path.write_bytes(hostile.MESSAGES[name]())
    with hostile.deadline(2):  # 4 s to 50 s each before the parser was made linear; < 0.2 s now
        result = CliRunner().invoke(bounces, ["classify", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["kind"] in ("bounce", "other")


# --- the command ----------------------------------------------------------------------------


def test_cli_classify_json(tmp_path):
    files = [str(CORPUS / "own" / "rfc3464-postfix-511.eml"), str(CORPUS / "own" / "rfc3464-571-policy.eml"),
             str(CORPUS / "own" / "out-of-office.eml")]
    result = CliRunner().invoke(bounces, ["classify", *files, "--json"])
    assert result.exit_code == 0, result.output
    entries = json.loads(result.output)
    assert [(e["bounce"], e["kind"]) for e in entries] == [(True, "bounce"), (True, "bounce"), (False, "autoreply")]
    assert entries[0]["recipients"] == [{
        "address": "jane@example.com", "status": "5.1.1", "hard": True, "kind": "hard",
        "reason": "The recipient's mailbox does not exist; the address will not be mailed again (5.1.1).",
    }]
    assert entries[1]["recipients"][0]["hard"] is False and entries[1]["recipients"][0]["kind"] == "block"


def test_cli_classify_unreadable_file(tmp_path):
    missing = tmp_path / "nope.eml"
    good = CORPUS / "own" / "gmail-failure.eml"
    result = CliRunner().invoke(bounces, ["classify", str(good), str(missing), "--json"])
    assert result.exit_code == 1
    entries = json.loads(result.output)
    assert entries[0]["kind"] == "bounce"
    assert entries[1]["file"] == str(missing) and "No such file" in entries[1]["error"]


def test_cli_classify_table():
    result = CliRunner().invoke(bounces, ["classify", str(CORPUS / "own" / "qmail-two.eml")])
    assert result.exit_code == 0, result.output
    assert "klaus@example.de" in result.output and "petra@example.de" in result.output


class _FakeIMAP:
    """Only the edge is faked: the IMAP4 commands mailbox.py sends, recorded."""

    instances: list["_FakeIMAP"] = []
    extra: dict[bytes, bytes] = {}  # more messages, by UID

    def __init__(self, host, port, timeout=None):
        self.host, self.port, self.calls = host, port, []
        self.capabilities = ("IMAP4REV1", "MOVE")
        self.messages = {b"7": _sample(), b"9": _sample("own/qmail-two.eml"), **self.extra}
        _FakeIMAP.instances.append(self)

    def login(self, user, password):
        self.calls.append(("login", user, password))

    def select(self, folder):
        self.calls.append(("select", folder))
        return "OK", [b"2"]

    def uid(self, command, *args):
        self.calls.append((command, *args))
        if command == "SEARCH":
            return "OK", [b" ".join(self.messages)]
        if command == "FETCH" and args[1] == "(RFC822.SIZE)":
            return "OK", [b"1 (UID " + args[0] + b" RFC822.SIZE " + str(len(self.messages[args[0]])).encode() + b")"]
        if command == "FETCH":
            return "OK", [(b"1 (UID " + args[0] + b" BODY[] {n}", self.messages[args[0]]), b")"]
        return "OK", [b""]

    def expunge(self):
        self.calls.append(("expunge",))

    def logout(self):
        self.calls.append(("logout",))


def test_imap_unseen_peek_and_acknowledge(monkeypatch):
    monkeypatch.setattr("distribute.feedback.bounces.mailbox.imaplib.IMAP4", _FakeIMAP)
    _FakeIMAP.instances.clear()
    items = []
    for item in iter_messages("imap://bounce%40press.example.org:s%3Dcret@imap.example.org:1143/Bounces"):
        items.append(item)
        if item.label.endswith("/7"):
            item.done()  # acknowledged inside the loop, while the connection is open
    (client,) = _FakeIMAP.instances
    assert (client.host, client.port) == ("imap.example.org", 1143)
    assert client.calls[:3] == [("login", "bounce@press.example.org", "s=cret"), ("select", '"Bounces"'),
                                ("SEARCH", None, "UNSEEN")]
    assert ("FETCH", b"7", "(BODY.PEEK[])") in client.calls  # reading does not set \Seen
    assert [item.label for item in items] == ["imap:Bounces/7", "imap:Bounces/9"]
    assert read_report(items[1].raw).mta == "qmail"
    stores = [call for call in client.calls if call[0] == "STORE"]
    assert stores == [("STORE", b"7", "+FLAGS", r"(\Seen)")]  # 9 was not acknowledged: stays unseen
    assert client.calls[-1] == ("logout",)

    _FakeIMAP.instances.clear()
    gen = iter_messages("imap://u:p@imap.example.org/INBOX?move=Processed")
    first = next(gen)
    first.done()
    (client,) = _FakeIMAP.instances
    assert ("MOVE", b"7", '"Processed"') in client.calls
    gen.close()
    assert client.calls[-1] == ("logout",)


def test_imap_message_over_max_bytes_is_sized_not_fetched(monkeypatch):
    monkeypatch.setattr("distribute.feedback.bounces.mailbox.imaplib.IMAP4", _FakeIMAP)
    _FakeIMAP.instances.clear()
    big = _sample("own/qmail-two.eml") + b"x" * 20_000
    monkeypatch.setattr(_FakeIMAP, "extra", {b"9": big})
    items = []
    for item in iter_messages("imap://u:p@imap.example.org/INBOX", max_bytes=len(_sample()) + 1000):
        items.append(item)
        item.done()
    (client,) = _FakeIMAP.instances
    assert [(item.label, item.raw, item.size) for item in items] == [
        ("imap:INBOX/7", _sample(), len(_sample())), ("imap:INBOX/9", None, len(big))]
    fetches = [call[1:] for call in client.calls if call[0] == "FETCH"]
    assert fetches == [(b"7", "(RFC822.SIZE)"), (b"7", "(BODY.PEEK[])"), (b"9", "(RFC822.SIZE)")]
    assert ("STORE", b"9", "+FLAGS", r"(\Seen)") in client.calls  # recorded as ignored: not read again


def test_an_unreachable_imap_server_is_a_clear_error_without_the_password():
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(MailboxError) as caught:
        list(iter_messages(f"imap://bounces:s3cret@127.0.0.1:{port}/INBOX"))
    assert str(caught.value).startswith(f"imap://bounces@127.0.0.1:{port}/INBOX: ")
    assert "s3cret" not in str(caught.value)
