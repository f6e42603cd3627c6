"""The SMTP reply table: realistic replies in the formats real MTAs document, and their verdicts.

Each row: reply code (None = no reply: a drop or a timeout), the text as smtplib hands it over
(code stripped, continuation lines joined by newlines), then the expected action, hard, category.
"""

from __future__ import annotations

import hostile
import pytest

from distribute.feedback.replies import CATEGORIES, classify_reply, enhanced_status, flatten_reply

S, R, B = "sent", "retry", "bounce"

TABLE = [
    # --- accepted -----------------------------------------------------------------------------
    (250, "2.0.0 Ok: queued as 4BqXyZ1mKz3s", S, False, "ok"),  # Postfix
    (250, "OK id=1rXyZ0-0003Ab-2C", S, False, "ok"),  # Exim
    (250, "2.0.0 43MAbc01234567 Message accepted for delivery", S, False, "ok"),  # Sendmail
    (250, "2.6.0 <abc@example.org> [InternalId=1234567, Hostname=AM0PR01MB1234.eurprd01.prod.exchangelabs.com] "
          "Queued mail for delivery", S, False, "ok"),  # Exchange Online
    (250, "2.0.0 OK  1712345678 d2si1234567qkb.12 - gsmtp", S, False, "ok"),  # Gmail
    # --- transient: 4xx and no reply ------------------------------------------------------------
    (421, "4.7.0 Try again later", R, False, "temporary"),
    (421, "4.7.0 Try again later, closing connection. (EHLO)\n4.7.0  d2si1234567qkb.12 - gsmtp", R, False,
     "temporary"),  # Gmail
    (451, "4.7.1 Greylisting in action, please come back later", R, False, "temporary"),
    (451, "4.3.0 <jane@example.com>: Temporary lookup failure", R, False, "temporary"),  # Postfix
    (450, "4.1.1 <jane@example.com>: Recipient address rejected: unverified address: "
          "host mx.example.com[192.0.2.10] said: 450 4.2.0 try later", R, False, "temporary"),
    (421, "4.3.2 Service not available, closing transmission channel", R, False, "temporary"),
    (452, "4.2.2 Mailbox full", R, False, "mailbox-full"),
    (452, "4.2.2 The email account that you tried to reach is over quota. Please direct\n"
          "4.2.2 the recipient to\n4.2.2  https://support.google.com/mail/?p=OverQuotaTemp", R, False,
     "mailbox-full"),  # Gmail
    (421, "4.7.28 Gmail has detected an unusual rate of unsolicited mail originating\n4.7.28 from your IP "
          "address. To protect our users from spam, mail sent from your IP\n4.7.28 address has been temporarily "
          "rate limited.", R, False, "rate-limited"),
    (421, "4.7.0 [TSS04] Messages from 192.0.2.25 temporarily deferred due to unexpected volume or user "
          "complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes", R, False,
     "rate-limited"),  # Yahoo
    (450, "4.2.1 The user you are trying to contact is receiving mail too quickly. Please resend your "
          "message at a later time.", R, False, "rate-limited"),  # Gmail
    (452, "4.5.3 Too many recipients", R, False, "rate-limited"),
    (451, "4.7.1 Client host rejected: blocked using zen.spamhaus.org, try again later", R, False,
     "blocked"),
    (None, "Connection unexpectedly closed", R, False, "connection"),
    (None, "timed out", R, False, "connection"),
    # no reply to the message, but the connection's own refusal says why (transport.py words it)
    (None, "relay.example.org:587 refused the login of user 'press': 535 5.7.8 Authentication credentials "
           "invalid", R, False, "auth"),
    (None, "mx.example.com:25 refused the connection: 554 5.7.1 Service unavailable; client host "
           "[192.0.2.25] blocked using zen.spamhaus.org", R, False, "blocked"),
    # --- hard: the address itself is dead ---------------------------------------------------------
    (550, "5.1.1 <jane@example.com>: Recipient address rejected: User unknown in virtual mailbox table",
     B, True, "mailbox-unknown"),  # Postfix
    (550, "5.1.1 <jane@example.com>: Recipient address rejected: User unknown in local recipient table",
     B, True, "mailbox-unknown"),  # Postfix
    (550, "5.1.1 The email account that you tried to reach does not exist. Please try\n5.1.1 double-checking "
          "the recipient's email address for typos or\n5.1.1 unnecessary spaces. Learn more at\n5.1.1  "
          "https://support.google.com/mail/?p=NoSuchUser a1si123456qkb.12 - gsmtp", B, True,
     "mailbox-unknown"),  # Gmail
    (550, "5.1.1 <jane@example.com>... User unknown", B, True, "mailbox-unknown"),  # Sendmail
    (550, "5.1.1 user unknown", B, True, "mailbox-unknown"),
    (550, "Unrouteable address", B, True, "mailbox-unknown"),  # Exim
    (550, "No Such User Here", B, True, "mailbox-unknown"),  # cPanel Exim
    (550, "Requested action not taken: mailbox unavailable", B, True, "mailbox-unknown"),
    (550, "5.5.0 Requested action not taken: mailbox unavailable (S2017062302). "
          "[AM4PEPF00025F97.EURPRD84.PROD.OUTLOOK.COM]", B, True, "mailbox-unknown"),  # Outlook.com
    (550, "Mailbox not found", B, True, "mailbox-unknown"),
    (554, "delivery error: dd This user doesn't have a yahoo.com account (jane@yahoo.com) [0] - "
          "mta1234.mail.bf1.yahoo.com", B, True, "mailbox-unknown"),  # Yahoo
    (550, "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup", B, True,
     "mailbox-unknown"),  # Exchange Online
    (550, "<jane@example.com>: Recipient address rejected: user unknown", B, True, "mailbox-unknown"),
    (553, "5.1.3 bad address syntax", B, True, "bad-address"),
    (501, "5.1.3 Bad recipient address syntax", B, True, "bad-address"),  # Postfix
    (550, "5.1.2 <jane@example.invalid>... Host unknown (Name server: example.invalid: host not found)",
     B, True, "domain-unknown"),  # Sendmail
    (556, "5.1.10 Recipient address has null MX", B, True, "domain-unknown"),  # RFC 7505
    (550, "Domain not found", B, True, "domain-unknown"),
    (551, "5.1.6 User has moved; please try <jane@example.net>", B, True, "moved"),
    (550, "5.2.1 <jane@example.com>: Recipient address rejected: this account has been closed", B, True,
     "disabled"),
    (550, "5.2.1 <jane@example.com>: this mailbox has been deleted", B, True, "disabled"),
    (554, "delivery error: dd Sorry your message to jane@example.com cannot be delivered. This account has been "
          "disabled or discontinued [#102]. - mta1.example.com", B, True, "disabled"),  # Yahoo: discontinued
    (550, "5.4.4 Host or domain name not found. Name service error for name=example.invalid type=A: Host not "
          "found", B, True, "domain-unknown"),  # Postfix, NXDOMAIN, in a DSN's Diagnostic-Code
    (550, "5.4.4 Invalid domain", B, True, "domain-unknown"),  # Amazon SES
    (550, "No mx record found for domain=example.invalid", B, True, "domain-unknown"),  # Yahoo
    (550, "5.7.27 Host does not accept mail", B, True, "domain-unknown"),  # Sendmail: a null MX (RFC 7505)
    (550, "5.1.351 Remote server returned unknown recipient or mailbox unavailable -> 550 <jane@example.jp>: "
          "User unknown", B, True, "mailbox-unknown"),  # Exchange Online's own X.1 detail
    (550, "User not listed in public Name & Address Book", B, True, "mailbox-unknown"),  # Lotus Notes
    # Exchange Online's directory-based edge blocking: the tenant has no such recipient (Microsoft's
    # NDR 550 5.4.1 article); "access denied" there is to the address. Under X.7 it stays policy.
    (550, "5.4.1 Recipient address rejected: Access denied. AS(201806281) "
          "[DB5EUR03FT012.eop-EUR03.prod.protection.outlook.com]", B, True, "mailbox-unknown"),
    (554, "5.4.4 Name service error for name=example.invalid type=MX: Malformed or unexpected name server "
          "reply", B, True, "domain-unknown"),  # Postfix, a permanent DNS failure
    (554, "The mail could not be delivered to the recipient because the domain is not reachable. Please "
          "check the domain and try again", B, True, "domain-unknown"),  # Outlook.com
    (550, "ユーザーJane (jane@example.co.jp) は Domino ディレクトリには見つかりません。", B, True,
     "mailbox-unknown"),  # Domino, in Japanese: "not found in the Domino directory"
    (550, "Sorry, no mailbox here by that name. (#5.1.1)", B, True, "mailbox-unknown"),  # qmail
    (553, "sorry, your envelope recipient is in my badrcptto list (#5.7.1)", B, False, "policy"),  # X.7 stays
    (550, "Requested action not taken: mailbox unavailable", B, True, "mailbox-unknown"),  # Exchange
    (550, "<jane@example.com>: Utilisateur inconnu", B, True, "mailbox-unknown"),
    (550, "Lo sentimos, no existe ese usuario en el sistema", B, True, "mailbox-unknown"),
    (550, "vdeliver: Invalid or unknown virtual user 'jane'", B, True, "mailbox-unknown"),  # vpopmail
    (550, "5.1.0 Sender address invalid", B, False, "policy"),
    # --- soft bounces: never suppress for these -----------------------------------------------------
    # an account suspended or locked for now exists, whatever code or "unknown" comes with it
    (550, "5.1.1 <jane@example.com>: user account suspended", B, False, "disabled"),
    (550, "Recipient rejected: temporarily inactive", B, False, "disabled"),
    (550, "vdelivermail: account is locked email bounced", B, False, "disabled"),
    (550, "5.2.1 <jane@example.com>: mailbox temporarily suspended", B, False, "disabled"),
    # X.2.1 may be temporary (RFC 3463): a disabled or inactive account may come back.
    (550, "5.2.1 The email account that you tried to reach is disabled. Learn more at\n5.2.1  "
          "https://support.google.com/mail/?p=DisabledUser a1si123456qkb.12 - gsmtp", B, False,
     "disabled"),  # Gmail
    (550, "5.2.1 The email account that you tried to reach is inactive.", B, False, "disabled"),  # Gmail
    # "user unknown" under X.2.1, with no command said: the answer of a recipient's filter
    (550, "5.2.1 <jane@example.jp>... User Unknown", B, False, "filtered"),
    # a reply that names no recipient was given to the message (after DATA), not to an address
    (550, ": User unknown", B, False, "filtered"),
    (550, "5.0.0 : User unknown", B, False, "filtered"),
    (550, "5.1.351 Remote server returned unknown recipient or mailbox unavailable -> 550 : User unknown", B,
     False, "filtered"),
    (550, "5.1.0 <press@example.org>: Sender address rejected: Domain not found", B, False, "policy"),
    (552, "5.2.2 Mailbox full", B, False, "mailbox-full"),
    (550, "5.2.2 The email account that you tried to reach is over quota.", B, False, "mailbox-full"),
    (552, "5.2.2 <jane@example.com>: user unknown or mailbox full", B, False, "mailbox-full"),
    (552, "5.3.4 Message size exceeds fixed limit", B, False, "too-big"),  # Postfix
    (552, "5.2.3 Message length exceeds administrative limit", B, False, "too-big"),
    (552, "Message size exceeds fixed maximum message size", B, False, "too-big"),
    (550, "5.7.1 Service unavailable; client host [192.0.2.25] blocked using zen.spamhaus.org; "
          "https://www.spamhaus.org/query/ip/192.0.2.25", B, False, "blocked"),
    (554, "5.7.1 Service unavailable; Client host [192.0.2.25] blocked using Spamhaus", B, False, "blocked"),
    (550, "5.7.606 Access denied, banned sending IP [192.0.2.25]. To request removal from this list please "
          "visit https://sender.office.com/", B, False, "blocked"),  # Outlook.com
    (550, "SC-001 (BAY004-MC1F21) Unfortunately, messages from 192.0.2.25 weren't sent. Please contact your "
          "Internet service provider since part of their network is on our block list.", B, False,
     "blocked"),  # Hotmail
    (550, "5.7.1 Recipient address rejected: blocked, user unknown", B, False, "blocked"),
    (550, "5.1.1 <jane@example.com>: Recipient address rejected: sender domain blacklisted", B, False,
     "blocked"),  # a blocklist signal wins over 5.1.1
    (550, "5.7.1 Message rejected as spam by Content Filtering.", B, False, "spam"),  # Exchange
    (554, "5.7.1 The message from <press@example.org> with the subject of 'News' matches a profile the "
          "Internet community may consider spam. Please revise your message before resending.", B, False,
     "spam"),  # Outlook.com
    (550, "5.7.26 This mail has been blocked because the sender is unauthenticated.\n5.7.26 Gmail requires "
          "all senders to authenticate with either SPF or DKIM.", B, False, "auth"),  # Gmail
    (550, "5.7.26 Unauthenticated email from example.org is not accepted due to domain's\n5.7.26 DMARC policy. "
          "Please contact the administrator of example.org domain", B, False, "auth"),  # Gmail
    (550, "5.7.23 SPF validation failed", B, False, "auth"),
    (550, "5.7.25 The IP address sending this message does not have a PTR record setup", B, False, "auth"),
    (535, "5.7.8 Authentication credentials invalid", B, False, "auth"),
    (530, "5.7.0 Authentication required", B, False, "auth"),
    (554, "5.7.9 Message not accepted for policy reasons.  See "
          "https://help.yahoo.com/kb/postmaster/SLN7253.html", B, False, "policy"),  # Yahoo
    (550, "5.7.1 Message rejected due to content restrictions", B, False, "policy"),  # Exchange
    (554, "5.7.1 <jane@example.com>: Recipient address rejected: Access denied", B, False, "policy"),  # Postfix
    (550, "Administrative prohibition", B, False, "policy"),  # Exim
    (550, "Verification failed for <press@example.org>\nSender verify failed", B, False, "policy"),  # Exim
    (550, "5.1.8 Bad sender's system address", B, False, "policy"),
    (550, "5.7.1 Relaying denied", B, False, "relay"),  # Sendmail
    (554, "5.7.1 <jane@example.net>: Relay access denied", B, False, "relay"),  # Postfix
    (550, "5.7.54 SMTP; Unable to relay recipient in non-accepted domain", B, False, "relay"),  # Exchange
    (550, "5.4.5 Daily user sending quota exceeded. a1si123456qkb.12 - gsmtp", B, False, "rate-limited"),
    (554, "5.4.4 Unable to route: no mail hosts for domain", B, False, "routing"),
    (554, "5.4.6 Routing loop detected", B, False, "routing"),
    (500, "5.5.1 Unrecognized command", B, False, "protocol"),
    (555, "5.5.4 Unsupported option: SMTPUTF8", B, False, "protocol"),
    (554, "5.6.0 Mail message is malformed. Not accepted.", B, False, "other"),  # Gmail
    (554, "Transaction failed", B, False, "other"),
    # --- not a final reply at all ---------------------------------------------------------------
    (354, "End data with <CR><LF>.<CR><LF>", R, False, "protocol"),
    (-1, "garbled", R, False, "protocol"),
]


def test_the_table_is_big_enough():
    assert len(TABLE) >= 40
    assert {row[4] for row in TABLE} == CATEGORIES


@pytest.mark.parametrize(("code", "text", "action", "hard", "category"), TABLE)
def test_classify_reply(code, text, action, hard, category):
    verdict = classify_reply(code, text)
    assert (verdict.action, verdict.hard, verdict.category) == (action, hard, category), verdict
    assert verdict.category in CATEGORIES
    assert verdict.reason.endswith(".") and "\n" not in verdict.reason
    assert verdict.status == enhanced_status(flatten_reply(text))


@pytest.mark.parametrize(("text", "status"), [
    ("5.1.1 user unknown", "5.1.1"),
    ("550-5.1.1 The email account that you tried to reach does not exist.", "5.1.1"),
    ("550 5.7.26 Unauthenticated email", "5.7.26"),
    ("5.7.606 Access denied, banned sending IP [192.0.2.25]", "5.7.606"),
    ("5.1.10 RESOLVER.ADR.RecipientNotFound", "5.1.10"),
    ("4.7.0 [TSS04] deferred - 4.16.55.1; see https://example.com", "4.7.0"),
    ("Recipient address rejected (5.1.1)", "5.1.1"),
    ("client host [10.5.1.1] blocked", None),  # an IP address is not a status code
    ("deferred - 4.16.55.1", None),
    ("Requested action not taken: mailbox unavailable", None),
    ("", None),
])
def test_enhanced_status(text, status):
    assert enhanced_status(text) == status


def test_flatten_reply_joins_lines_and_drops_repeated_status():
    raw = b"5.1.1 The email account that you tried to reach does not exist. Please try\n5.1.1 double-checking"
    assert flatten_reply(raw) == (
        "5.1.1 The email account that you tried to reach does not exist. Please try double-checking"
    )
    assert flatten_reply("550-5.1.1 First\r\n550 5.1.1 second") == "5.1.1 First second"
    assert flatten_reply(b"caf\xc3\xa9 \xff") == "caf\u00e9 \ufffd"


# The command a refusal answered (RFC 5321 3.3: a recipient is checked at RCPT TO), or the rule
# or program that refused the message after the receiving side had accepted it.
@pytest.mark.parametrize(("code", "text", "stage", "hard", "category"), [
    (550, "5.1.1 <jane@example.com>: Recipient address rejected: User unknown", "rcpt", True, "mailbox-unknown"),
    (550, "Unknown user jane@example.jp", "data", False, "filtered"),  # a filter's blanket answer
    (550, "5.1.1 <jane@example.com>... User unknown", "data", False, "filtered"),
    # a provider that checks its users only after DATA says so in words of its own
    (554, "delivery error: dd This user doesn't have a yahoo.com account (jane@yahoo.com) [0]", "data", True,
     "mailbox-unknown"),
    (553, "5.1.0 press.example.org does not exist", "mail", False, "policy"),  # our sender's domain
    (550, "5.2.1 <jane@example.jp>... User Unknown", "rcpt", True, "mailbox-unknown"),
    (550, "5.2.1 <jane@example.jp>... User Unknown", "data", False, "filtered"),
    (550, ": User unknown", "rcpt", True, "mailbox-unknown"),  # the report placed it at RCPT TO
    (550, "5.1.1 Mailbox does not exist", "rule", False, "filtered"),  # an SES receipt rule's template
    (550, "5.1.1 procmail: Couldn't create \"/var/mail/jane\": No such user", "local", False, "other"),
    (552, "5.2.2 Mailbox full", "data", False, "mailbox-full"),
    (550, "5.1.1 user unknown", None, True, "mailbox-unknown"),
])
def test_the_stage_of_a_refusal(code, text, stage, hard, category):
    verdict = classify_reply(code, text, stage=stage)
    assert (verdict.action, verdict.hard, verdict.category) == ("bounce", hard, category), verdict


def test_not_listed_is_not_a_blocklist():
    assert classify_reply(550, "5.7.1 Client host [192.0.2.25] is listed at zen.spamhaus.org").category == "blocked"
    assert classify_reply(550, "User not listed in public Name & Address Book").category == "mailbox-unknown"


def test_reasons_and_status():
    verdict = classify_reply(550, "5.1.1 user unknown")
    assert verdict.status == "5.1.1"
    assert verdict.reason == "The recipient's mailbox does not exist; the address will not be mailed again (5.1.1)."
    retry = classify_reply(452, "4.2.2 Mailbox full")
    assert retry.reason == "The recipient's mailbox is full for now; it will be tried again (4.2.2)."
    assert classify_reply(None, "").reason == (
        "The connection to the mail server failed before it answered; it will be tried again."
    )


def test_hard_only_ever_with_a_bounce():
    # The basic code decides the action, even when the enhanced code says the mailbox is dead.
    for code in (250, 450, 451, 421, None):
        verdict = classify_reply(code, "5.1.1 user unknown")
        assert verdict.hard is False
    assert classify_reply(550, "4.1.1 user unknown").action == "bounce"


def test_a_huge_reply_is_judged_by_its_start_in_little_time():
    # A hostile server (or a forged bounce's Diagnostic-Code) can send megabytes; a reply says
    # what it means in its first lines (RFC 5321 4.5.3.1.5: 512 octets a line).
    filler = "\n".join(["550-5.1.1 " + "lorem ipsum " * 40] * 20_000)  # 10 MB: 10 s to judge whole
    with hostile.deadline(2):
        verdict = classify_reply(550, "5.1.1 The email account that you tried to reach does not exist\n" + filler)
    assert (verdict.action, verdict.hard, verdict.category) == ("bounce", True, "mailbox-unknown")
