"""Worst-case cost of reading returned mail: adversarial bodies through the real parser.

Anyone can mail the bounce address, so what a message costs to read must grow linearly with
its size whatever it holds. Each body (a run of one character, a repeated fragment, deep
multipart nesting ...) is put in several message shapes and read by `read_report`, the
function `bounces classify` and `bounces process` call, at several sizes. The last column is
the exponent of the growth between the two largest sizes measured: ~1 is linear, ~2 quadratic.
Each case runs in a child process with a time limit; a case whose size, extrapolated
quadratically from the size before, would pass the limit is not run and shows the
extrapolation in brackets. (What the mailbox itself costs is in tests/feedback/test_inbound.py.)

Shapes: prose    a daemon's plain-text report (every prose pattern runs)
        plain    a person's plain-text mail (format recognition only)
        qp       the prose report, quoted-printable
        dsn      RFC 3464 report without Diagnostic-Code (the prose is read for the reason)
        diag     RFC 3464 report whose Diagnostic-Code holds the body (classify_reply)
        fields   RFC 3464 report whose per-recipient block holds the body (fields, recipients)
        original RFC 3464 report whose returned headers are the body (delivery refs)
        head     a daemon's report with the body among its headers
        html     a daemon's report in HTML only
        subject  the body as a (folded) Subject header; also the mailto-unsubscribe check
        xfailed  the body as a (folded) X-Failed-Recipients header (Exim)
        reply    classify_reply(550, body) alone

`--patterns` times every module-level pattern of the bounce path alone (finditer over the
body, which costs at least what search does when nothing matches) at two sizes and lists
those whose time grows faster than linearly.

Measured on the shared 2-core machine (445 body and shape pairs, four sizes each): before the
parser was made linear, 63 pairs grew faster than n^1.5, the worst 50 KB of "-" (56 s in a
person's mail, 51 s in a daemon's report; ~15 min extrapolated at 200 KB). After, every pair
grows linearly (none faster than n^1.15); the worst is 1.4 s at 1 MB (a Subject folded over
500,000 lines, which the standard library parses twice: for the report and for the
mailto-unsubscribe check), every other pair under 0.75 s at 1 MB.

Run: .venv/bin/python bench/bench_bounce_worst.py [--sizes 10000,50000,200000,1000000]
     [--timeout 60] [--only dash,newline] [--shapes prose,plain] [--patterns]
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from distribute.feedback.bounces.report import read_report  # noqa: E402
from distribute.feedback.inbound import _unsubscribe_request  # noqa: E402
from distribute.feedback.replies import classify_reply  # noqa: E402
from distribute.signing import Tokens  # noqa: E402

TOKENS = Tokens("bench-secret-bench-secret-bench-secret")

# name -> the fragment repeated to fill the body
FRAGMENTS: dict[str, str] = {
    "dash": "-", "newline": "\n", "space": " ", "tab": "\t", "crlf": "\r\n", "equals": "=", "digit": "0",
    "dot": ".", "letter": "a", "user-unknown": "user unknown ", "at": "a@", "label-dot": "a.",
    "angle-addr": "<a@b.cc", "lt": "<", "style": "<style>", "host": "host a.", "code": "550 ",
    "code-dash": "550-", "status": "5.1.1 ", "ip": "1.2.", "dash-line": "-\n", "blank-line": " \n",
    "label": "To: ", "hash": "#", "paren": "(", "gt-line": ">\n", "word-space": "ab ",
    "recipient": "recipient ", "copy-rule": "--", "delay": "will retry ",
    "inline-addr": "x <a@b.cc> ",
}
# name -> the body of a given size, for bodies that are not one fragment repeated
GENERATED = {
    "many-addrs": lambda size: "".join(f"x <a{n}@b.cc> " for n in range(size // 10 + 1))[:size],
    "many-headers": lambda size: _lines(size, "X-H{n}: y"),
    "many-subjects": lambda size: _lines(size, "Subject: =?utf-8?q?Undelivered_{n}?="),
    "many-tokens": lambda size: _lines(size, "To: bounces+t{n}-s@press.example"),
    "many-refs": lambda size: "Received: from x\n" + _lines(size, "Message-ID: <r{n}@press.example>"),
    "many-rcpts": lambda size: _lines(size, "Final-Recipient: rfc822; a{n}@b.cc\nAction: failed\nStatus: 5.1.1\n"),
    "nested": lambda size: "",  # a message of its own: see nested()
}
SHAPES = ("prose", "plain", "qp", "dsn", "diag", "fields", "original", "head", "html", "subject", "xfailed", "reply")


def _lines(size: int, template: str) -> str:
    lines, total, n = [], 0, 0
    while total < size:
        lines.append(template.format(n=n) + "\n")
        total, n = total + len(lines[-1]), n + 1
    return "".join(lines)


def body(name: str, size: int) -> str:
    if name in GENERATED:
        return GENERATED[name](size)
    fragment = FRAGMENTS[name]
    return (fragment * (size // len(fragment) + 1))[:size]


def message(shape: str, text: str) -> bytes:
    daemon = "From: MAILER-DAEMON@mx.example\nTo: bounces@press.example\nSubject: Undelivered Mail Returned to Sender\n"
    if shape == "prose":
        return f"{daemon}Content-Type: text/plain\n\n{text}".encode()
    if shape == "plain":
        return f"From: jane@example.org\nTo: bounces@press.example\nSubject: hello\n\n{text}".encode()
    if shape == "html":
        return f"{daemon}Content-Type: text/html\n\n{text}".encode()
    if shape == "qp":
        return f"{daemon}Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n{text}".encode()
    if shape in ("subject", "xfailed"):  # a header, folded: every line break is followed by a space
        name = "Subject" if shape == "subject" else "X-Failed-Recipients"
        folded = text.replace("\r", "").replace("\n", "\n ")
        return f"From: MAILER-DAEMON@mx.example\n{name}: {folded}\nContent-Type: text/plain\n\nNot delivered.\n".encode()
    if shape == "head":  # among the headers (a blank line in it ends them)
        return f"{daemon}{text}\nContent-Type: text/plain\n\nNot delivered.\n".encode()
    status = ("Reporting-MTA: dns; mx.example\n\nFinal-Recipient: rfc822; x@y.example\nAction: failed\n"
              "Status: 5.0.0\n")
    original = "Message-ID: <ref@press.example>\n"
    if shape == "diag":  # a folded header: every line break is followed by a space
        status += "Diagnostic-Code: smtp; 550 " + text.replace("\r", "").replace("\n", "\n ") + "\n"
    elif shape == "fields":  # the per-recipient block
        status += text + "\n"
    elif shape == "original":  # the returned headers
        original = text
    text = "Not delivered." if shape in ("diag", "fields", "original") else text
    return (f'{daemon}MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
            f"--b\nContent-Type: text/plain\n\n{text}\n--b\nContent-Type: message/delivery-status\n\n{status}"
            f"--b\nContent-Type: text/rfc822-headers\n\n{original}\n--b--\n").encode()


def nested(size: int) -> bytes:
    """multipart inside multipart, as deep as `size` bytes allow, a text part at the bottom."""
    level = 'Content-Type: multipart/mixed; boundary="{0}"\n\n--{0}\n'
    depth = max(1, size // len(level.format("b000000")))
    head = "".join(level.format(f"b{n:06d}") for n in range(depth))
    tail = "".join(f"\n--b{n:06d}--\n" for n in reversed(range(depth)))
    return (f"From: MAILER-DAEMON@mx.example\nSubject: Undelivered Mail\n{head}"
            f"Content-Type: text/plain\n\n<x@y.example>: 550 5.1.1 user unknown\n{tail}").encode()


def run_case(name: str, shape: str, size: int) -> None:
    if name == "nested":
        read_report(nested(size))
    elif shape == "reply":
        classify_reply(550, body(name, size))
    else:
        raw = message(shape, body(name, size))
        read_report(raw)
        if shape == "subject":
            _unsubscribe_request(raw, TOKENS)


def _child(name: str, shape: str, size: int, out) -> None:
    start = time.perf_counter()
    run_case(name, shape, size)
    out.send(time.perf_counter() - start)


def timed(name: str, shape: str, size: int, timeout: float) -> float | None:
    """Seconds in a child process, or None when it ran past the timeout (it is killed)."""
    here, there = multiprocessing.Pipe(duplex=False)
    child = multiprocessing.Process(target=_child, args=(name, shape, size, there))
    child.start()
    ready = here.poll(timeout)
    seconds = here.recv() if ready else None
    child.kill()
    child.join()
    return seconds


def cell(seconds: float | None, note: str = "") -> str:
    if note:
        return note
    return f"{seconds:.3f}" if seconds is not None else "timeout"


def main_cases(args) -> None:
    sizes = [int(s) for s in args.sizes.split(",")]
    names = args.only.split(",") if args.only else [*FRAGMENTS, *GENERATED]
    shapes = args.shapes.split(",") if args.shapes else SHAPES
    print(f"{'body':13} {'shape':8} " + " ".join(f"{_kb(s):>10}" for s in sizes) + "   growth")
    worst = (0.0, "", 0)
    for name in names:
        for shape in (("prose",) if name == "nested" else shapes):
            cells, last = [], None
            for size in sizes:
                if last is not None and (last[1] is None or last[1] * (size / last[0]) ** 2 > args.timeout):
                    projected = None if last[1] is None else last[1] * (size / last[0]) ** 2
                    cells.append((size, None, f"(~{projected:.0f})" if projected else "-"))
                    last = (size, None)
                    continue
                seconds = timed(name, shape, size, args.timeout)
                cells.append((size, seconds, "" if seconds is not None else f">{args.timeout:.0f}"))
                last = (size, seconds)
                if seconds is not None and seconds > worst[0]:
                    worst = (seconds, f"{name}/{shape}", size)
            measured = [(s, t) for s, t, _ in cells if t is not None and t > 0.005]
            growth = ""
            if len(measured) >= 2:
                (s0, t0), (s1, t1) = measured[-2], measured[-1]
                growth = f"t ~ n^{math.log(t1 / t0) / math.log(s1 / s0):.1f}"
            print(f"{name:13} {shape:8} " + " ".join(f"{cell(t, note):>10}" for _, t, note in cells) + f"   {growth}",
                  flush=True)
    print(f"\nworst measured: {worst[1]} at {_kb(worst[2])}: {worst[0]:.3f} s")


def _kb(size: int) -> str:
    return f"{size / 1_000_000:g} MB" if size >= 1_000_000 else f"{size / 1000:g} KB"


def module_patterns() -> list[tuple[str, re.Pattern[str]]]:
    from distribute.feedback.bounces import classify, report, textbounce
    from distribute.feedback import replies as smtp_replies
    found = []
    for module in (textbounce, report, classify, smtp_replies):
        for attr, value in vars(module).items():
            items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else None
            if isinstance(value, re.Pattern):
                found.append((f"{module.__name__.rsplit('.', 1)[1]}.{attr}", value))
            elif items is not None:
                for key, item in items:
                    pattern = item[1] if isinstance(item, tuple) else item
                    label = item[0] if isinstance(item, tuple) else key
                    if isinstance(pattern, re.Pattern):
                        found.append((f"{module.__name__.rsplit('.', 1)[1]}.{attr}[{label}]", pattern))
    return found


def main_patterns(args) -> None:
    small, large = 5_000, 20_000
    rows = []
    for label, pattern in module_patterns():
        for name in FRAGMENTS:
            times = []
            for size in (small, large):
                text = body(name, size)
                text = text.encode() if isinstance(pattern.pattern, bytes) else text
                start = time.perf_counter()
                for _ in pattern.finditer(text):
                    pass
                times.append(time.perf_counter() - start)
            if times[1] > 0.02 and times[1] / max(times[0], 1e-9) > 6:  # 4x the size: linear is ~4x
                rows.append((times[1], label, name, times[1] / times[0]))
    print(f"super-linear patterns (finditer, {_kb(small)} -> {_kb(large)}):")
    for seconds, label, name, ratio in sorted(rows, reverse=True):
        print(f"  {label:40} {name:13} {seconds:8.3f} s at {_kb(large)}  (x{ratio:.0f} for 4x the size)")
    if not rows:
        print("  none")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,50000,200000,1000000")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--only", help="comma-separated body names (" + ", ".join([*FRAGMENTS, *GENERATED]) + ")")
    parser.add_argument("--shapes", help="comma-separated shapes (" + ", ".join(SHAPES) + ")")
    parser.add_argument("--patterns", action="store_true", help="time each pattern alone instead")
    arguments = parser.parse_args()
    multiprocessing.set_start_method("fork")
    main_patterns(arguments) if arguments.patterns else main_cases(arguments)
