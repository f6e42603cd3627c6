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

from distribute.bounces import Report, read_report
from distribute.cli.common import console, err_console, json_option, print_json


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


# The lead registers these in distribute/cli/__init__.py; `process` (record bounces in the
# database) will be added to the `bounces` group here.
COMMANDS = [bounces]
