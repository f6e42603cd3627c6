"""The judgement of one recipient of an asynchronous bounce: the same as for a synchronous
SMTP refusal, because it is the same refusal reported later.

A DSN (RFC 3464) carries, per recipient, an Action, an RFC 3463 Status and usually a
Diagnostic-Code holding the remote server's reply ("smtp; 550 5.1.1 <x@y>: user unknown").
The reply is what the remote server actually said, so it goes through
`distribute.feedback.replies.classify_reply`, the one function that judges SMTP replies; nothing
here re-decides what a code means.
"""

from __future__ import annotations

import re

from distribute.feedback.replies import BOUNCE, SENT, Verdict, classify_reply, enhanced_status

# RFC 3464 section 2.3.6: "diagnostic-type ; *text"; the type is "smtp" for an SMTP reply,
# others are MTA-specific ("X-Postfix", "X-Notes"). Only the text after it is the reply.
_DIAGNOSTIC_TYPE = re.compile(r"^\s*([A-Za-z][\w-]*)\s*;\s*")
# A basic reply code (RFC 5321 section 4.2): three digits, first 2, 4 or 5, standing alone
# (not part of an IP address, a time, a host name or an enhanced status).
_BASIC_CODE = re.compile(r"(?<![\w.:/\[\]#=-])([245][0-5]\d)(?=[ -]|$)(?!-\d)")
_CODE_AT_START = re.compile(r"^\s*([245][0-5]\d)(?:[ -]|$)")
# RFC 3463 details that say the address is dead (bad mailbox, bad domain, moved, null MX).
_DEAD_DETAIL = re.compile(r"^4\.1\.(?:1|2|6|10)$")

# An MTA's own words (no reply, no status) for "retries ran out"; never about the address.
_GAVE_UP = re.compile(r"expired|\b\d+\s+attempts\b|timed?\s*out|too\s+long|retry\s+time|"
                      r"could\s+not\s+be\s+delivered\s+within|no\s+answer|try\s+again|temporar(?:y|ily)",
                      re.IGNORECASE)
# Categories of a passing state: the address may work next time. RFC 3463 X.2.2 (mailbox full)
# and X.4.7 (delivery time expired) are transient conditions even when reported as failures.
_SOFT = frozenset({
    "mailbox-full", "temporary", "rate-limited", "connection", "disabled", "routing",
    "mailbox-unknown", "domain-unknown", "bad-address", "moved",  # only reached when not hard (4xx)
})
# Refusals about our sender, our server or the message: never a reason to drop the recipient.
_BLOCK = frozenset({"policy", "spam", "blocked", "auth", "relay", "too-big", "protocol", "filtered", "other"})


def _has_code(text: str) -> bool:
    return bool(_CODE_AT_START.match(text) or _BASIC_CODE.search(text) or enhanced_status(text))


def basic_code(text: str, status: str | None, *, action: str = "failed") -> int:
    """The RFC 5321 reply code for a reported outcome: the diagnostic's own code when it has
    one, else one derived from the RFC 3463 status class (RFC 3463 section 3.1: 2 success,
    4 persistent transient failure, 5 permanent failure), else from the DSN Action."""
    match = _CODE_AT_START.match(text) or _BASIC_CODE.search(text)
    if match:
        return int(match.group(1))
    klass = (status or "")[:1]
    if klass in ("2", "4", "5"):
        return {"2": 250, "4": 450, "5": 550}[klass]
    if action == "delayed":
        return 450
    if action in ("delivered", "relayed", "expanded"):
        return 250
    return 550


def reply_text(diagnostic: str) -> str:
    """A Diagnostic-Code's text without its type: "smtp; 550 5.1.1 ..." -> "550 5.1.1 ..."."""
    return _DIAGNOSTIC_TYPE.sub("", diagnostic or "", count=1).strip()


def judge(diagnostic: str, status: str | None, *, action: str = "failed", stage: str | None = None) -> Verdict:
    """classify_reply for one DSN recipient: the diagnostic text with its type stripped, and
    the DSN's Status put in when the text has no enhanced code of its own (so that "550 user
    unknown" with "Status: 5.1.1" is judged as "550 5.1.1 user unknown"). `stage`: where the
    refusal was made, when the report says it (distribute.feedback.replies.STAGES)."""
    kind = _DIAGNOSTIC_TYPE.match(diagnostic or "")
    if kind and kind.group(1).lower() == "x-unix" and stage is None:
        stage = "local"  # the output of a program the MTA ran to deliver, not an SMTP reply
    text = reply_text(diagnostic)
    code = basic_code(text, status, action=action)
    if not _has_code(text) and not status and _GAVE_UP.search(text):
        # The MTA's own words, no reply: retries ran out (RFC 3463 X.4.7), or the failure was
        # one the MTA itself calls temporary (Postfix "Host not found, try again" is a DNS
        # lookup that failed for now, not a domain that does not exist).
        code = 450
    if action in ("delivered", "relayed", "expanded"):
        code = 250  # RFC 3464 2.3.3: these are successes, whatever text came with them
    elif action == "delayed" and code >= 500:
        code = 450  # a delay is never final, even if the last attempt got a 5xx
    elif action == "failed" and 400 <= code < 500 and _DEAD_DETAIL.match(enhanced_status(text) or ""):
        # The MTA gave up after its retries were all answered "4.1.1 user unknown" (Postfix's
        # "450 4.1.1 ... User unknown in virtual alias table" while its owner tests a table): the
        # report is final, and so is what every answer said.
        code = 500 + code % 100
    own = enhanced_status(text)
    if status and not own:
        start = _CODE_AT_START.match(text)
        verdict = classify_reply(code, f"{text[:start.end()]}{status} {text[start.end():]}" if start
                                 else f"{status} {text}", stage=stage)
        if verdict.category == "policy" and status[2:4] == "7." and _has_code(text):
            # A security status the reporting MTA put on a reply that had none ("Status: 5.7.1"
            # over "553 Invalid recipient"): the remote server's own words say more.
            words = classify_reply(code, text, stage=stage)
            return words if words.hard else verdict
        return verdict
    return classify_reply(code, text, stage=stage)


def bounce_kind(verdict: Verdict) -> str:
    """ "hard" (the address is dead: suppress), "soft" (a passing state: count it, retry later),
    "block" (a refusal of our sender or message: fix our side, never suppress the recipient)
    or "none" (delivered)."""
    if verdict.hard:
        return "hard"
    if verdict.action == SENT:
        return "none"
    if verdict.category in _BLOCK:
        return "block"
    if verdict.category in _SOFT or verdict.action != BOUNCE:
        return "soft"
    return "block"
