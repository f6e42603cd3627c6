"""The one place where an SMTP outcome is judged: sent, retry later, or bounced (and whether the
address itself is dead, so that it is suppressed).

It judges a reply code and its text, wherever they came from: the reply to our own MAIL, RCPT or
DATA, a connection failure (code None), or later the Diagnostic-Code of an asynchronous bounce
(DSN). Nothing here talks to a network.

The reasoning, by RFC:

* RFC 5321 section 4.2.1: the first digit of the reply code decides what the client does.
  2yz is a positive completion (the message is the server's now), 4yz a transient negative
  completion ("the command was not accepted ... but the error condition is temporary and the
  action may be requested again"), 5yz a permanent negative completion (do not repeat the same
  request). So 2xx -> sent, 4xx -> retry, 5xx -> bounce; and a dropped connection or a timeout,
  which gave no reply at all, is transient: nothing was refused.
* RFC 3463 (enhanced status codes, "class.subject.detail", sent at the start of the text per
  RFC 2034) says *why*. Only a few details say that the recipient's address is dead:
  X.1.1 bad destination mailbox, X.1.2 bad destination system (domain), X.1.3 bad destination
  address syntax, X.1.6 mailbox has moved (no forwarding address), X.1.10 null MX (RFC 7505),
  X.4.4 "unable to route" when the text says the domain does not exist (Postfix reports an
  NXDOMAIN as "5.4.4 Host or domain name not found"), and X.2.1 "mailbox disabled" only when
  the text says the account is gone for good (RFC 3463: X.2.1 may be temporary; a disabled,
  inactive or suspended account may come back) or, in a reply to RCPT TO, that the user is
  unknown.
  Everything else is about the sender or the message, or is a passing state, and must never
  suppress a journalist: X.7.x security and policy (including SPF/DKIM/DMARC, RFC 7372),
  X.2.2 mailbox full (RFC 3463 itself calls it a transient condition even in class 5),
  X.2.3 / X.3.4 message too big, X.4.x routing and network, X.5.x protocol, X.6.x content.
* The basic code, not the enhanced one, decides the action when they disagree ("550 4.1.1"):
  RFC 5321 is the protocol the server is bound by; RFC 3463 only explains.
* Many servers send no enhanced code, or a generic one (X.0.0, X.1.0, X.2.0, X.5.0 -- Outlook.com
  answers "550 5.5.0 Requested action not taken: mailbox unavailable" for a mailbox that does not
  exist), so the text decides then, by the wordings that real MTAs use.
* Receivers word policy rejections carelessly ("550 5.7.1 ... blocked, user unknown"). A wrong
  hard bounce silences a journalist for good, a missed one costs one more bounce, so an explicit
  signal about the sender or the message (policy, spam, blocklist, authentication, relaying,
  rate, size) always wins over "unknown user" wording or a 5.1.x code.
* The command a reply answered, when known (`stage`), says what was refused. RFC 5321 section
  3.3: a server checks a recipient when it gets its RCPT TO, and answers 550 "no such user"
  there. A refusal of MAIL FROM is a refusal of our sender: never hard ("policy"). After DATA,
  once the recipient was accepted, the blanket words "user unknown" are the answer of the
  recipient's own filter: Japanese mobile carriers answer "550 : User unknown" at DATA to
  senders their user blocks ("filtered", never hard). For that reason a reply that names no
  recipient (": User unknown") counts as one to DATA, and so does "user unknown" under X.2.1
  unless it answered RCPT TO. A provider that checks its users only after DATA says so in
  words of its own (Yahoo: "This user doesn't have a yahoo.com account"), which keep their
  meaning. Two more places come after the message was accepted and are never hard: a rule the
  recipient's side wrote (an Amazon SES receipt rule's bounce action sends whatever code and
  text the rule names), and a program the receiving MTA ran to deliver (RFC 3464's "X-Unix"
  diagnostics of Postfix pipe(8) and Sendmail's prog mailer: they speak of the program).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from distribute.feedback import reply_wordings as words

SENT, RETRY, BOUNCE = "sent", "retry", "bounce"

# category -> the sentence an admin reads beside the delivery.
REASONS: dict[str, str] = {
    "ok": "The receiving server accepted the message",
    "temporary": "The receiving server refused the message for now",
    "connection": "The connection to the mail server failed before it answered",
    "mailbox-unknown": "The recipient's mailbox does not exist",
    "domain-unknown": "The recipient's domain does not exist or does not accept mail",
    "bad-address": "The recipient's address is not a valid email address",
    "moved": "The recipient's address is no longer in use: the mailbox has moved",
    "disabled": "The recipient's mailbox is disabled and not accepting messages",
    "mailbox-full": "The recipient's mailbox is full",
    "policy": "The receiving server refused the message by its policy",
    "spam": "The receiving server judged the message to be spam",
    "blocked": "The receiving server blocks our sending server or domain (a blocklist or reputation)",
    "too-big": "The message is larger than the receiving server accepts",
    "rate-limited": "The receiving server is limiting how much or how fast we send",
    "auth": "The receiving server did not accept our authentication (SMTP AUTH, SPF, DKIM or DMARC)",
    "relay": "The mail server refused to relay the message",
    "filtered": "The recipient's server accepted the address, then its filter refused this message",
    "routing": "The message could not be routed to the recipient's mail server",
    "protocol": "The mail servers disagreed about the SMTP protocol",
    "other": "The receiving server refused the message",
}
CATEGORIES = frozenset(REASONS)


@dataclass(frozen=True)
class Verdict:
    action: str  # "sent" | "retry" | "bounce"
    hard: bool  # the address itself is dead: suppress it (only ever with action "bounce")
    category: str  # one of CATEGORIES
    status: str | None  # the enhanced status code, "5.1.1", when the reply had one
    reason: str  # one human sentence


# RFC 3463: class 2, 4 or 5; subject and detail of 1 to 3 digits. Not glued to other digits or
# dots, so that an IP address ("client [10.5.1.1]") or Yahoo's "4.16.55.1" is not taken for one.
_ENHANCED = r"(?<![\w.])([245])\.(\d{1,3})\.(\d{1,3})(?![\w-]|\.\d)"
_ENHANCED_AT_START = re.compile(r"^\s*(?:\d{3}[ -])?" + _ENHANCED)
_ENHANCED_ANYWHERE = re.compile(_ENHANCED)
_CODE_PREFIX = re.compile(r"^\d{3}(?:[ -]|$)")


def enhanced_status(text: str) -> str | None:
    """The RFC 3463 enhanced status code in a reply's text: "5.1.1", or None.

    RFC 2034 puts it first ("5.1.1 User unknown", or "550-5.1.1 ..." when the caller kept the
    reply code); some servers put it later ("... rejected (5.7.1)"), so the first one anywhere
    is the fallback.
    """
    if not text:
        return None
    match = _ENHANCED_AT_START.search(text) or _ENHANCED_ANYWHERE.search(text)
    return ".".join(match.groups()) if match else None


def flatten_reply(raw: bytes | str) -> str:
    """A reply's text as one line: decoded, lines joined by a space, and the enhanced status
    that multi-line replies repeat on every line (Gmail's "550-5.1.1 ...") kept only once."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    lines = [line.strip() for line in text.splitlines()]
    out: list[str] = []
    first_status = None
    for line in lines:
        if _CODE_PREFIX.match(line):  # a caller passed the raw reply, codes and all
            line = line[4:].strip()
        status = _ENHANCED_AT_START.match(line)
        if status:
            code = ".".join(status.groups())
            if first_status is None:
                first_status = code
            elif code == first_status:
                line = line[status.end():].strip()
        if line:
            out.append(line)
    return " ".join(" ".join(out).split())


# What a reply says is at its start: a reply line is at most 512 octets (RFC 5321 4.5.3.1.5)
# and a multi-line reply a few lines. Judging only this much of it keeps the cost bounded when
# it comes from a hostile server or a forged bounce (every pattern below is linear as well).
_MAX_REPLY = 4000


# subject.detail -> category, for the details that say the address is dead.
_HARD_DETAILS = {
    "1.1": "mailbox-unknown",
    "1.2": "domain-unknown",
    "1.3": "bad-address",
    "1.6": "moved",
    "1.10": "domain-unknown",
}
# RFC 4954 5.7.8 (bad credentials); RFC 7372 5.7.20-5.7.27 (DKIM, SPF, reverse DNS, DMARC).
_AUTH_DETAILS = {"7.8"} | {f"7.{n}" for n in range(20, 28)}
# Details too vague to decide anything: the text decides. X.3.0 ("other or undefined mail
# system status", RFC 3463) is what Sendmail sends with "553 5.3.0 ... Addressee unknown".
_GENERIC_DETAILS = {"0.0", "1.0", "2.0", "3.0", "5.0"}


# Where a refusal was made: the SMTP command it answered ("data": DATA or the end of the data),
# or, after the message was accepted, a rule of the receiving system ("rule") or a program it
# ran to deliver the message ("local"). See the module's docstring.
STAGES = ("mail", "rcpt", "data", "rule", "local")


def classify_reply(code: int | None, text: str, *, stage: str | None = None) -> Verdict:
    """Judge one SMTP reply (or a connection failure, code None). `stage`, when known, says
    where the refusal was made (one of STAGES; see the module's docstring)."""
    text = flatten_reply((text or "")[:_MAX_REPLY])
    status = enhanced_status(text)
    detail = status.partition(".")[2] if status else None  # "1.1" of "5.1.1"

    if code is None:
        # No reply to the message itself: the connection, TLS or login failed. The text may
        # still say why (a greeting "554 ... blocked using Spamhaus", "535 5.7.8" for AUTH).
        return _verdict(RETRY, _sender_signal(text) or "connection", status)
    if 200 <= code < 300:
        return _verdict(SENT, "ok", status)
    if 400 <= code < 500:
        return _verdict(RETRY, _category_transient(text, detail), status)
    if 500 <= code < 600:
        if stage is None and words.NO_RECIPIENT_NAMED.search(text):
            stage = "data"
        category, hard = _category_permanent(text, detail, stage)
        if hard and (stage == "rule" or (stage == "data" and words.BLANKET_UNKNOWN.search(text))):
            category, hard = "filtered", False
        elif hard and stage == "mail":
            category, hard = "policy", False
        elif hard and stage == "local":
            category, hard = "other", False
        return _verdict(BOUNCE, category, status, hard=hard)
    # 1xx/3xx are not final replies, anything else is not SMTP: a broken exchange, not a refusal.
    return _verdict(RETRY, "protocol", status)


def _sender_signal(text: str) -> str | None:
    text = words.RECIPIENT_NOT_IN_DIRECTORY.sub(" ", text)  # "access denied" to an address, not to us
    for category, pattern in words.SENDER_SIGNALS:
        if pattern.search(text):
            return category
    return None


def _category_transient(text: str, detail: str | None) -> str:
    # A 4xx never suppresses; the category only says why we wait.
    if signal := _sender_signal(text):
        return signal
    if detail == "2.2" or words.MAILBOX_FULL.search(text):
        return "mailbox-full"
    if detail in ("3.4", "2.3") or words.TOO_BIG.search(text):
        return "too-big"
    if words.DOMAIN_UNKNOWN.search(text):
        return "domain-unknown"
    if words.MAILBOX_UNKNOWN.search(text):
        return "mailbox-unknown"
    return "temporary"


def _category_permanent(text: str, detail: str | None, stage: str | None) -> tuple[str, bool]:
    """(category, hard) for a 5xx reply."""
    if signal := _sender_signal(text):
        return signal, False
    subject = detail.partition(".")[0] if detail else None
    if subject == "7":  # X.7.x: security or policy, about us or the message
        if detail == "7.27" and words.ACCEPTS_NO_MAIL.search(text) and "sender" not in text.lower():
            # RFC 7505 gives X.7.27 to a *sender* with a null MX ("Sender address has null MX"),
            # but Sendmail reports its own finding that the recipient's domain has one as
            # "5.7.27 ... Host does not accept mail".
            return "domain-unknown", True
        if (detail in ("7.8", "7.0") and "authenticat" in text.lower()) or detail in _AUTH_DETAILS:
            return "auth", False
        return "policy", False
    if detail == "2.2" or words.MAILBOX_FULL.search(text):
        return "mailbox-full", False
    if detail in ("3.4", "2.3") or words.TOO_BIG.search(text):
        return "too-big", False
    if words.SUSPENDED.search(text):
        return "disabled", False
    if detail in _HARD_DETAILS:
        # The code says dead; the wording may say more precisely how (Exchange answers
        # "5.1.10 ... Recipient not found", Sendmail "5.1.2 ... host not found").
        if words.DOMAIN_UNKNOWN.search(text):
            return "domain-unknown", True
        if words.MAILBOX_UNKNOWN.search(text) and detail != "1.3":
            return "mailbox-unknown", True
        return _HARD_DETAILS[detail], True
    if detail == "2.1":
        if words.GONE.search(text):
            return "disabled", True
        if words.MAILBOX_UNKNOWN.search(text):
            # "550 5.2.1 <x>... User Unknown": the address refused at RCPT TO is unknown; the
            # same words elsewhere are what Japanese carriers' filters answer (module docstring).
            return ("mailbox-unknown", True) if stage == "rcpt" else ("filtered", False)
        return "disabled", False
    if detail == "4.4" and (words.DOMAIN_UNKNOWN.search(text) or words.DNS_FAILED.search(text)) \
            and not words.DNS_FOR_NOW.search(text):
        return "domain-unknown", True  # "5.4.4 Host or domain name not found" (NXDOMAIN)
    if words.RECIPIENT_NOT_IN_DIRECTORY.search(text):
        return "mailbox-unknown", True
    if detail is None or detail in _GENERIC_DETAILS or (subject == "1" and detail not in ("1.7", "1.8")):
        # No code, a vague one, or an addressing detail no RFC defines (Exchange's 5.1.351):
        # the text decides.
        if words.DOMAIN_UNKNOWN.search(text):
            return "domain-unknown", True
        if words.MOVED.search(text):
            return "moved", True
        if words.ACCOUNT_GONE.search(text):
            return "disabled", True
        if words.MAILBOX_UNKNOWN.search(text):
            return "mailbox-unknown", True
    if subject == "4":
        return "routing", False
    if subject == "5":
        return "protocol", False
    if detail in ("1.7", "1.8"):  # our sender address was refused
        return "policy", False
    return "other", False


def _verdict(action: str, category: str, status: str | None, *, hard: bool = False) -> Verdict:
    reason = REASONS[category]
    if action == RETRY and category not in ("temporary", "connection"):
        reason += " for now; it will be tried again"
    elif action == RETRY:
        reason += "; it will be tried again"
    elif hard:
        reason += "; the address will not be mailed again"
    if status:
        reason += f" ({status})"
    return Verdict(action=action, hard=hard and action == BOUNCE, category=category, status=status,
                   reason=reason + ".")
