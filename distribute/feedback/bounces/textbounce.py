"""Bounces written as prose: the non-standard formats of MTAs and providers that send no
RFC 3464 delivery-status part (or send one that is broken).

Every such format has the same shape, whatever its wording: a few lines that name the format,
then for each failed recipient its address at the start of a line (or in a sentence such as
"wasn't delivered to x@y"), followed by the remote server's reply or the MTA's own reason, then
a copy of the returned message. So one reader does the work and the formats differ only in
their signature (`FORMATS`), a mapping table kept at the edge.

Anyone can mail the bounce address, so every pattern here runs in time linear in the text,
whatever it holds (bench/bench_bounce_worst.py measures it): none starts with a repeatable
item that a run of the same character would make it scan again from each position (a search
for "-+x" over 50 KB of "-" is quadratic; "-x" finds the same text), and no item can give
back what the next one would take (hence the possessive "*+").
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def _rx(*alternatives: str, flags: int = re.IGNORECASE | re.MULTILINE) -> re.Pattern[str]:
    return re.compile("|".join(alternatives), flags)


# label -> what only that MTA writes. Checked in order: qmail and Exim before the providers,
# whose texts they may quote.
FORMATS: list[tuple[str, re.Pattern[str]]] = [
    ("qmail", _rx(r"This is the qmail-send program", r"qmail-send program at")),
    ("exim", _rx(r"This message was created automatically by mail delivery software",
                 r"^X-Failed-Recipients:")),
    ("postfix", _rx(r"This is the mail system at host", r"This is the Postfix program",
                    r"\(in reply to (?:RCPT TO|end of DATA|MAIL FROM|DATA) command\)")),
    ("sendmail", _rx(r"-\s*The following addresses? had (?:permanent fatal|transient non-fatal) errors",
                     r"-\s*Transcript of session follows")),
    ("exchange", _rx(r"Delivery has failed to these recipients or groups", r"Remote Server returned '",
                     r"Your message did not reach some or all of the intended recipients",
                     r"The following recipient\(s\) (?:could not be reached|cannot be reached)",
                     r"\bRESOLVER\.ADR\.", r"Diagnostic information for administrators",
                     r"Your message to \S+ couldn't be delivered")),
    ("gmail", _rx(r"Delivery to the following recipients? (?:failed|has been delayed)",
                  r"The response from the remote server was", r"The error that the other server returned was",
                  r"Your message wasn't delivered to", r"^Subject: Delivery Status Notification \((?:Failure|Delay)\)")),
    ("yahoo", _rx(r"Sorry, we were unable to deliver your message to the following address",
                  r"Unable to deliver message to the following address",
                  r"^Remote host said:", r"^Message from\s+yahoo\.")),
    # Verizon Wireless (vtext.com): "Error: Invalid user address", then the remote reply under
    # "Error message below:" and the envelope under "Message details:" ("RCPT TO: x@y").
    ("verizon", _rx(r"^Error message below:\s*$")),
    ("ses", _rx(r"An error occurred while trying to deliver the mail to the following recipients",
                r"amazonses\.com")),
]
# Subjects and senders of delivery reports in general, for the formats not in the table.
BOUNCE_SUBJECT = _rx(
    r"undeliver", r"undelivered", r"returned mail", r"return(?:ed)? to sender", r"delivery (?:status|failure|failed|"
    r"problem|notification|report)", r"mail delivery (?:failed|failure|system)", r"failure notice",
    r"non[- ]?delivery", r"could not (?:be )?deliver", r"nondeliverable", r"not delivered",
    r"mail system error", r"delivery error", r"delivery warning", r"unable to deliver", r"bounced?\b", r"\bNDR\b",
    r"permanent error", r"delivery unsuccessful", r"mail failure", r"rejected",
)
DAEMON_SENDER = _rx(r"mailer[-_]?daemon", r"\bmdaemon@", r"\bpost_?master@", r"\bMAILER-DAEMON\b", r"^[ \t]*<>[ \t]*$",
                    r"\bmail delivery (?:system|subsystem)", r"\bmail ?administrator")
# A delivery still being tried: a warning, never a bounce (RFC 3464 Action "delayed").
DELAY = _rx(
    r"Delivery Status Notification \(Delay\)", r"Warning: (?:message .{0,40} )?delayed",
    r"still (?:undelivered|being retried|trying)", r"Delayed Mail", r"THIS IS A WARNING MESSAGE ONLY",
    r"transient non-fatal errors", r"has not yet been delivered", r"has not been delivered yet",
    r"Delivery to the following recipients? has been delayed", r"will (?:continue to )?(?:be )?retr(?:y|ied)",
    r"will (?:keep|continue) trying", r"delivery (?:is |has been )?delayed", r"could not send message for past",
    r"message delayed", r"Delivery Notification: Delay", r"no need to resend", r"attempts will continue",
    r"will continue to try", r"has been postponed",
)
FINAL = _rx(
    r"permanent(?:ly)? (?:error|fail)", r"fatal errors?", r"not going to try again", r"giving up",
    r"Delivery has failed", r"failed permanently",
    r"no further (?:attempts|retries)", r"has been (?:rejected|returned)", r"address(?:es)? failed",
)

_ADDR = r"[^\s<>()\[\]@,;:\"'`=]+@[A-Za-z0-9](?:[\w-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[\w-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}"
# A recipient listed on a line of its own (Exim, qmail, Sendmail, Exchange, Gmail), led by a
# reply code (a Sendmail transcript: "550 5.1.1 <x@y>... User unknown") or by a label. The
# leading marks are taken possessively: "-" and "*" may also start an address, and giving them
# back one by one on a line of dashes would scan the line again for each.
_LISTED = re.compile(
    r"^[ \t>*\u2022-]*+(?:[245]\d\d[ -](?:[245]\.\d{1,3}\.\d{1,3}\s+)?|[A-Za-z][\w ()'-]{0,50}:\s*(?:rfc822;\s*)?)?"
    rf"[\"'\[]?(?:SMTP:)?<?({_ADDR})>?", re.IGNORECASE | re.MULTILINE)
# Lines that name our own side in a transcript or a summary, not a failed recipient.
# So do the fields of a quoted header that name a message, not a mailbox (Message-ID: <x@y>).
_SENDER_LABEL = _rx(r"\b(?:mail\s+from|from|sender|reply-to|return-path|errors-to)\s*:", r"\bsender\s+ok\b",
                    r"\b(?:message-id|in-reply-to|references|content-id|(?:original-)?envelope-id)\s*:")
# Exim and Sendmail name the address we sent to below the one that failed after forwarding.
_EXPANDED = re.compile(rf"^\s*\((?:generated|expanded) from:?\s*<?({_ADDR})>?\)", re.IGNORECASE)
# The same in a sentence (Gmail, Office 365, many webmails).
_INLINE = _rx(
    rf"(?:wasn't|was not|could ?not be|couldn't be|not be|been) (?:delivered|sent) to\s+<?({_ADDR})>?",
    rf"(?:message|mail) (?:to|for)\s+<?({_ADDR})>?\s+(?:could ?n[o']t|was not|has not|failed|bounced)",
    rf"(?:delivery|deliver(?:ing)? your (?:message|mail)) to\s+<?({_ADDR})>?", rf"recipient:?\s+<?({_ADDR})>?",
    # SMTP32 "undeliverable to x@y", Demon "The following message, addressed to 'x@y', failed",
    # Domino-like "(Originally addressed to x@y)", LLNL "The address to which your message was
    # addressed, x@y, did not ..."
    rf"undeliverable\s+to\s+<?({_ADDR})>?", rf"addressed(?: to)?,?\s+['\"<]?({_ADDR})['\">]?",
    rf"user\s+<?({_ADDR})>?\s+(?:does not|doesn't|is)", rf"\bSMTP=({_ADDR})", rf"mailbox\s+<?({_ADDR})>?\s+(?:is|does)", rf"<({_ADDR})>",
)
# Where the copy of the returned message starts: nothing after it is the report.
_COPY = _rx(
    r"^[ \t]*[-=*_]{2,}+.{0,20}(?:original message|copy of the message|returned message|message header|"
    r"headers? of the|below this line|unsent message|undelivered message|message text|forwarded message)",
    r"^[ \t]*(?:Original message (?:headers|details)|Headers of the original message|"
    r"Original message follows|A copy of the original message|Below is a copy of the message|"
    r"------ This is a copy of the message|Message headers follow)",
    # the returned headers themselves, also in a report forwarded with "> " quoting
    r"^[ \t]*(?:>[ \t]*)?(?:Return-Path:[ \t]*<|Received:[ \t]*from[ \t])",
)
# Where the list of failed recipients starts: what stands above (Exchange's summary of the
# message, "To: the-list@…") names the message, not its failed recipients. The words that
# introduce a list come first: Exchange writes "did not reach some or all of the intended
# recipients" above its summary, and "The following recipient(s) could not be reached:" above
# the list.
_LIST_START = _rx(
    r"following (?:recipients?|address(?:\(?es\)?)?|users?|destinations?)", r"address(?:\(es\))? failed",
    r"^Your message to \S+ couldn't be delivered",
)
_LIST_START_WEAK = _rx(
    r"did not reach", r"not (?:be )?delivered to", r"(?:wasn't|couldn't be) delivered to", r"unable to deliver",
)
# A reply: a basic code not glued to other digits or dots (so not an IP address or a time),
# then its text; or an enhanced status standing alone ("(#5.1.1)", "<host #5.1.1>").
# Only 4yz and 5yz: a transcript's 220 greeting and 250 replies are not why it failed.
_REPLY = re.compile(r"(?<![\w.:/\[\]#=$-])([45][0-5]\d)[ -](?=\S)(.*)$", re.MULTILINE)
_STATUS = re.compile(r"(?<![\w.])#?([45]\.\d{1,3}\.\d{1,3})(?![\w-]|\.\d)")
_REMOTE_MTA = _rx(r"(?:host|talking to|from|server|by)\s+\[?([A-Za-z0-9][\w-]*(?:\.[\w-]+)+\.[A-Za-z]{2,})\]?"
                  r"(?:\s*\[[\d.:a-fA-F]+\])?\s*(?:said|:|\.\s|\s\(|$)")
# The SMTP command a reply answered, in the words of each MTA: Postfix "(in reply to RCPT TO
# command)", Exim "SMTP error from remote mail server after end of data:", m-FILTER "SMTP
# command: DATA", qmail-ldap and Yahoo "[RCPT_TO]", and Sendmail's transcript (">>> DATA" then
# "<<< 550 ..."; ">>> ." is the end of the data), where a command counts only when a refusal
# follows it.
_COMMAND = _rx(
    r"in\s+reply\s+to\s+(?:the\s+)?(end\s+of\s+data|data|rcpt|mail)\b",
    r"\bafter\s+(end\s+of\s+data|(?:pipelined\s+)?data|rcpt|mail\s+from)\b",
    r"^[ \t]*(?:>[ \t]*)?>>>[ \t]*(data|rcpt|mail|\.)[^\n]*\n[ \t]*(?:>[ \t]*)?<<<[ \t]*[45]",
    r"\bSMTP\s+command[ \t:-]*+\n?[ \t]*+(data|rcpt|mail)\b", r"\[(rcpt_to|data|mail_from)\]",
)
# With PIPELINING (RFC 2920) Sendmail sends RCPT TO and DATA together and prints the last
# command sent, DATA, above the refusal of the RCPT TO; the server's answer to DATA, "503 need
# RCPT" or "554 no valid recipients", then shows that no recipient was accepted.
_NO_RECIPIENT_ACCEPTED = _rx(r"<<<[ \t]*50[34]\b", r"no\s+valid\s+recipients", r"need\s+rcpt",
                             r"valid\s+rcpt\s+command\s+must\s+precede")
_SKIP_LOCAL = {"postmaster", "mailer-daemon", "abuse", "hostmaster", "noreply", "no-reply"}
_MAX_BLOCK_LINES = 14
_PIPELINED_TAIL = 600  # characters after a transcript's refusal where the DATA reply stands


@dataclass(frozen=True)
class Found:
    address: str
    diagnostic: str  # the reply or reason, one line
    remote_mta: str | None
    command: str | None = None  # the SMTP command the reply answered: "mail" | "rcpt" | "data"


@dataclass(frozen=True)
class TextBounce:
    mta: str
    delayed: bool
    found: tuple[Found, ...]
    certain: bool  # a known MTA's wording or a daemon's sender, not a subject alone


def recognise(text: str, *, subject: str, sender: str, headers: str) -> str | None:
    """The format's label, "generic" for a daemon's report in no known format, or None."""
    for label, signature in FORMATS:
        if signature.search(text) or signature.search(headers):
            return label
    if BOUNCE_SUBJECT.search(subject) or DAEMON_SENDER.search(sender):
        return "generic"
    return None


def read_text_bounce(text: str, *, subject: str, sender: str, headers: str,
                     failed_header: list[str], dsn: bool = False) -> TextBounce | None:
    """The recipients and reasons of a prose bounce, or None when it is not one. `dsn`: the
    message says by its type that it is a delivery report (RFC 6522 multipart/report;
    report-type=delivery-status) whose fields could not be read, so its prose is read as one."""
    label = recognise(text, subject=subject, sender=sender, headers=headers) or ("rfc3464" if dsn else None)
    if label is None:
        return None
    report = cut_copy(text)
    delayed = bool(DELAY.search(subject) or (DELAY.search(report) and not FINAL.search(report)))
    found = _recipients(report, failed_header)
    if not found and label == "generic" and not DAEMON_SENDER.search(sender):
        return None  # a subject that merely sounds like a report, from a person
    certain = label != "generic" or bool(DAEMON_SENDER.search(sender)) or dsn
    return TextBounce(mta=label, delayed=delayed, found=tuple(found), certain=certain)


def recipients_in_text(text: str, also: set[str] | frozenset[str] = frozenset()) -> list[Found]:
    """The recipients and reasons named in a report's prose (above the returned copy). `also`:
    addresses (lowercased) the report names as recipients elsewhere, taken even where a daemon's
    address would be skipped (a DSN's Final-Recipient may be postmaster@ a domain)."""
    return _recipients(cut_copy(text), [], also)


def cut_copy(text: str) -> str:
    match = _COPY.search(text)
    return text[:match.start()] if match else text


def _recipients(report: str, failed_header: list[str], also: set[str] | frozenset[str] = frozenset()) -> list[Found]:
    start = _LIST_START.search(report) or _LIST_START_WEAK.search(report)
    above: dict[str, str] = {}
    listed = _starts(report[report.rfind("\n", 0, start.start()) + 1:], also, above) if start else []
    blocks = listed or _starts(report, also, above)
    # Exim names every failed address in X-Failed-Recipients, even when the text lists none.
    for address in failed_header:
        if _wanted(address, also):
            blocks.setdefault(_key(address), [address])
    # Searched once, not once per address: X-Failed-Recipients may list thousands without a block.
    whole, whole_mta = _reply(report), _remote_mta(report)
    # The command of the whole report is one recipient's only when there is one (a transcript
    # follows the list of addresses in Sendmail's reports).
    whole_command = command_in(report) if len(blocks) == 1 else None
    found = []
    for address, *block in blocks.values():
        text = "\n".join(block)
        # Lotus Notes puts the reason on the line above the address ("Failure Reasons").
        reply = _reply(text) or whole or _reason(block, address) or _one_line(above.get(_key(address), ""))
        found.append(Found(address=address, diagnostic=reply, remote_mta=_remote_mta(text) if text else whole_mta,
                           command=command_in(text) or whole_command))
    return found


def command_in(text: str) -> str | None:
    """The SMTP command a reply in this text answered ("mail", "rcpt" or "data"), or None."""
    match = _COMMAND.search(text)
    if not match:
        return None
    word = next(group for group in match.groups() if group).lower()
    if word.endswith("data") or word == ".":
        transcript = match.group(3)  # the third alternative of _COMMAND: Sendmail's transcript
        if transcript and _NO_RECIPIENT_ACCEPTED.search(text, match.start(), match.end() + _PIPELINED_TAIL):
            return "rcpt"
        return "data"
    return "rcpt" if word.startswith("rcpt") else "mail"


def _starts(report: str, also: set[str] | frozenset[str] = frozenset(),
            above: dict[str, str] | None = None) -> dict[str, list[str]]:
    """address (lowercased) -> [address as written, the lines that follow each mention]; and in
    `above`, the line above its first mention."""
    above = {} if above is None else above
    lines = report.splitlines()
    starts: list[tuple[int, str]] = []
    for number, line in enumerate(lines):
        expanded = _EXPANDED.match(line)
        if expanded and starts and starts[-1][0] == number - 1:
            starts[-1] = (starts[-1][0], expanded.group(1))  # the address we sent to
            continue
        match = expanded or _LISTED.match(line)
        if match and _wanted(match.group(1), also) and not _SENDER_LABEL.search(line):
            starts.append((number, match.group(1)))
    if not starts:
        number, counted = 0, 0
        for match in _INLINE.finditer(report):
            address = next(group for group in match.groups() if group)
            # A daemon's address is skipped where it signs the report ("<postmaster@…>"), not
            # in a sentence that says delivery to it failed.
            if _wanted(address, also) or match.lastindex != _INLINE.groups:
                number += report.count("\n", counted, match.start())  # from the last match on, not from 0
                counted = match.start()
                starts.append((number, address))
    blocks: dict[str, list[str]] = {}
    for index, (number, address) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(lines)
        block = lines[number:min(end, number + _MAX_BLOCK_LINES)]
        blocks.setdefault(_key(address), [address]).extend(block)
        if number and _key(address) not in above:
            above[_key(address)] = lines[number - 1]
    return blocks


def _wanted(address: str, also: set[str] | frozenset[str] = frozenset()) -> bool:
    return address.partition("@")[0].lower() not in _SKIP_LOCAL or address.lower() in also


def _key(address: str) -> str:
    return address.lower()


def _reply(text: str) -> str:
    """The remote server's reply in a block of text, with the continuation lines of a
    multi-line reply ("550-5.1.1 ..."), as one line; or the line with a lone enhanced status."""
    match = _REPLY.search(text)
    if match:
        code = match.group(1)
        parts = [f"{code} {match.group(2).strip()}"]
        for line in text[match.end():].splitlines()[1:4]:
            # the next lines of a multi-line reply ("550-5.1.1 …"), or the MTA's indented wrap
            if line.strip().startswith(code):
                parts.append(line.strip()[4:].strip())
            elif line[:1] in (" ", "\t") and line.strip():
                parts.append(line.strip())
            else:
                break
        return _one_line(" ".join(parts))
    for line in text.splitlines():
        if _STATUS.search(line):
            return _one_line(line)
    return ""


def _reason(block: list[str], address: str) -> str:
    """The MTA's own words when there is no reply: the block without the address."""
    words = " ".join(line.strip() for line in block).replace(address, " ")
    return _one_line(words.strip(" <>:.-"))


def _remote_mta(text: str) -> str | None:
    match = _REMOTE_MTA.search(text)
    return match.group(1).lower() if match else None


def _one_line(text: str, limit: int = 500) -> str:
    return " ".join(text.split())[:limit]
