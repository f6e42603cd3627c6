"""`distribute bounces …`: reading returned mail.

`classify` reads files only and touches no database, so it is safe on any machine and useful
to check a message an admin forwarded. Commands that record bounces (`process`) go in this
group too, below `classify`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape

from distribute.feedback.bounces.report import Report, read_report
from distribute.cli.common import App, console, err_console, json_option, pass_app, print_json


@click.group("bounces")
def bounces() -> None:
    """Read bounces, delay warnings, auto-replies and complaints."""


@bounces.command("classify")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@json_option
def classify(files: tuple[Path, ...], as_json: bool) -> None:
    """Say what each message FILE is (a bounce, and of whom, and why). Reads no database."""
    entries, failed = [], False
    for path in files:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            failed = True
            entries.append({"file": str(path), "error": exc.strerror or str(exc)})
            continue
        entries.append(report_entry(str(path), read_report(raw)))
    if as_json:
        print_json(entries)
    else:
        _print_lines(entries)
    if failed:
        sys.exit(1)


def report_entry(name: str, report: Report) -> dict:
    return {
        "file": name,
        "bounce": report.is_bounce,
        "kind": report.kind,
        "mta": report.mta,
        "recipients": [
            {"address": r.address, "status": r.status, "hard": r.hard, "kind": r.kind, "reason": r.reason}
            for r in report.recipients
        ],
        **({"feedback_type": report.feedback_type, "complaint_address": report.complaint_address}
           if report.kind == "complaint" else {}),
        "delivery_refs": list(report.delivery_refs),
        "verp_tokens": list(report.verp_tokens),
    }


def _print_lines(entries: list[dict]) -> None:
    # Lines, not a table: addresses and reasons stay whole in a narrow terminal or a log.
    for entry in entries:
        if "error" in entry:
            err_console.print(f"[red]{escape(entry['file'])}: {escape(entry['error'])}[/red]")
            continue
        mta = f" ({entry['mta']})" if entry["mta"] else ""
        console.print(f"[bold]{escape(entry['file'])}[/bold]: {entry['kind']}{mta}")
        if entry["kind"] == "complaint":
            console.print(f"  {entry.get('feedback_type') or 'complaint'} from {entry.get('complaint_address') or '?'}")
        for r in entry["recipients"]:
            console.print(f"  {escape(r['address'] or '?')}  {r['status'] or '-'}  {r['kind']}  {r['reason']}")


@bounces.command("process")
@click.argument("source", required=False, metavar="PATH_OR_URL")
@click.option("--limit", type=click.IntRange(1), help="Read at most this many messages.")
@json_option
@pass_app
def process(app: App, source: str | None, limit: int | None, as_json: bool) -> None:
    """Read a bounce mailbox once and record what it holds: bounces, delay warnings and
    complaints, each matched to the delivery it is about (a report that matches nothing we
    sent is ignored). PATH_OR_URL is a Maildir, an mbox, an .eml file or a folder of them, or
    imap(s)://user:pass@host/INBOX; it defaults to DISTRIBUTE_BOUNCE_MAILBOX. A message larger
    than DISTRIBUTE_BOUNCE_MAX_BYTES is not read, only named and counted as ignored.

    Reading the same messages again records nothing twice. In production the scheduler polls
    DISTRIBUTE_BOUNCE_MAILBOX by itself."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from distribute.feedback.inbound import process_mailbox

    source = source or app.settings.bounce_mailbox
    if not source:
        raise click.UsageError("give a PATH_OR_URL, or set DISTRIBUTE_BOUNCE_MAILBOX")
    with Progress(SpinnerColumn(), TextColumn("{task.completed} messages read"), console=err_console,
                  transient=True, disable=as_json) as bar:
        task = bar.add_task("read")
        report = process_mailbox(app.sessions, app.settings, source, limit=limit,
                                 progress=lambda: bar.advance(task))
    if as_json:
        print_json(report.as_dict())
    else:
        ignored = ", ".join(f"{n} {kind}" for kind, n in sorted(report.ignored.items())) or "none"
        console.print(f"{report.messages} messages: {report.recorded} recorded, {report.duplicates} seen before, "
                      f"{report.unmatched} matched no delivery we sent; ignored: {ignored}")
        for big in report.too_big:
            err_console.print(f"[yellow]{escape(big['message'])}: {big['bytes']:,} bytes, over "
                              f"DISTRIBUTE_BOUNCE_MAX_BYTES ({app.settings.bounce_max_bytes:,}): not read[/yellow]")
        for error in report.errors:
            err_console.print(f"[red]{escape(error['message'])}: {escape(error['error'])}[/red]")
    if report.errors:
        sys.exit(1)


COMMANDS = [bounces]
