"""Messages that anyone could mail to the bounce address to stall its reading, and a deadline
that fails a test in seconds rather than letting a slow one stall the suite.

Each took from 4 s to 50 s to read before the bounce parser was made linear (measured with
bench/bench_bounce_worst.py, which has many more); each takes well under 0.2 s now.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager


class TooSlow(BaseException):
    """Not an Exception, which read_report and the mailbox loop would catch and carry on."""


@contextmanager
def deadline(seconds: float):
    """Raise TooSlow in the block once it has run for `seconds`. SIGALRM interrupts a long
    regex search as well as Python code (a thread could not be stopped), so it works only in
    the main thread, where pytest runs tests."""
    def expire(signum, frame):
        raise TooSlow(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def daemon(body: str, *, content_type: str = "text/plain", headers: str = "",
           subject: str = "Undelivered Mail Returned to Sender") -> bytes:
    """A prose report from a mail daemon, so that every prose pattern runs on its body."""
    return (f"From: MAILER-DAEMON@mx.example\nTo: bounces@press.example.org\nSubject: {subject}\n{headers}"
            f"Content-Type: {content_type}\n\n{body}").encode()


def dsn(per_recipient: str, *, prose: str = "Not delivered.") -> bytes:
    """An RFC 3464 report whose per-recipient block is `per_recipient`."""
    return ("From: MAILER-DAEMON@mx.example\nTo: bounces@press.example.org\nSubject: Undelivered Mail\n"
            'MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
            f"--b\nContent-Type: text/plain\n\n{prose}\n--b\nContent-Type: message/delivery-status\n\n"
            f"Reporting-MTA: dns; mx.example\n\n{per_recipient}\n--b--\n").encode()


def nested(depth: int, lines: int) -> bytes:
    level = 'Content-Type: multipart/mixed; boundary="{0}"\n\n--{0}\n'
    head = "".join(level.format(f"b{n:04d}") for n in range(depth))
    return (f"From: MAILER-DAEMON@mx.example\nSubject: Undelivered Mail\n{head}"
            "Content-Type: text/plain\n\n<x@y.example>: 550 5.1.1 user unknown\n" + "x\n" * lines).encode()


# name -> the message (a function: built only when a test asks for it)
MESSAGES = {
    "50 KB of '-'": lambda: daemon("-" * 50_000),
    "40 KB of newlines": lambda: daemon("\n" * 40_000),
    "80 KB of lines of one space": lambda: daemon(" \n" * 40_000),
    "50 KB of '-' as the subject": lambda: daemon("Not delivered.", subject="-" * 50_000),
    "100 KB of '<' as HTML": lambda: daemon("<" * 100_000, content_type="text/html"),
    "15,000 unclosed <style> as HTML": lambda: daemon("<style>" * 15_000, content_type="text/html"),
    "15,000 encoded-word starts in a header": lambda: daemon("x", headers="X-Note: " + "=?a?q?x" * 15_000 + "\n"),
    "5,000 addresses in sentences": lambda: daemon("".join(f"x <a{n}@b.example> " for n in range(5000))),
    "20,000 header fields": lambda: daemon("x", headers="".join(f"X-H{n}: y\n" for n in range(20_000))),
    "20,000 fields for one DSN recipient": lambda: dsn(
        "Final-Recipient: rfc822; x@y.example\nAction: failed\nStatus: 5.0.0\n"
        + "".join(f"X-H{n}: y\n" for n in range(20_000))),
    "a DSN Status of 50 KB of '('": lambda: dsn(
        "Final-Recipient: rfc822; x@y.example\nAction: failed\nStatus: 5.0.0 " + "(" * 50_000),
    "5,000 X-Failed-Recipients over a 100 KB report": lambda: daemon(
        "host\n" * 20_000, headers="X-Failed-Recipients: " + ", ".join(f"a{n}@b.example" for n in range(5000)) + "\n"),
    "multipart 800 deep over 100,000 lines": lambda: nested(800, 100_000),
    # the paths that read the SMTP command, the report's own words, run-together DSN fields, JSON
    "'SMTP command' then 50 KB of spaces": lambda: daemon("<x@y.example>: 550 unknown user\nSMTP command" + " " * 50_000),
    "10,000 lines of a Sendmail transcript": lambda: daemon(
        "<x@y.example>\n" + ">>> DATA\n<<< 550 user unknown\n" * 5000 + ">>> DATA\n" * 5000),
    "5,000 DSN recipients run together": lambda: dsn("".join(
        f"Final-Recipient: rfc822; a{n}@b.example\nAction: failed\nStatus: 5.1.1\n" for n in range(5000))),
    "a hard DSN recipient under 60 KB of prose that quotes it": lambda: dsn(
        "Final-Recipient: rfc822; x@y.example\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 "
        + "user unknown " * 70, prose="550 user unknown " * 4000),
    "a JSON body 50,000 lists deep": lambda: daemon('{"notificationType": ' + "[" * 50_000),
}
