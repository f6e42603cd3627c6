"""`distribute contacts import|export` and `distribute lists list`."""

from __future__ import annotations

import os
import sys

import click
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from distribute.cli.common import App, console, err_console, json_option, pass_app, print_json
from distribute.models import KINDS
from distribute.services import contacts as service
from distribute.services.actor import operator

SKIPPED_SHOWN = 50


@click.group()
def contacts() -> None:
    """Import and export journalists and supporters."""


@contacts.command("import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--kind", type=click.Choice(KINDS), required=True, help="What the people in the file are.")
@click.option("--list", "list_name", metavar="NAME", help="Also add every contact of the file to this static list (created if missing).")
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="Tag every contact of the file; repeat for more tags.")
@json_option
@pass_app
def import_(app: App, file: str, kind: str, list_name: str | None, tags: tuple[str, ...], as_json: bool) -> None:
    """Import contacts from a CSV FILE ('-' reads standard input).

    \b
    Reads exports as they come: Mailchimp audience exports, listmonk subscriber exports
    (email,name,attributes with a JSON object), or any sheet with an email column and
    optional name / first name + last name, outlet, beat, region, language, place, tags,
    status columns. UTF-8 (with or without BOM), Windows-1252 and Latin-1; comma, semicolon
    or tab delimiters. Other columns are kept as contact attributes.

    \b
    Rows for an address already known update that contact (a non-empty value overwrites,
    tags add up); an unsubscribed or bounced contact is never re-activated. Rows that cannot
    be imported are listed with their line number and reason; the rest are imported.
    Importing the same file again changes nothing.

    \b
    Example:
      distribute contacts import press-list.csv --kind journalist --list "Climate desk" --tag climate
    """
    total = None
    if file == "-":
        source = click.get_binary_stream("stdin")
    else:
        source = file
        try:
            total = os.path.getsize(file)
        except OSError:
            pass  # import_contacts says what is wrong with the file
    columns = (
        TextColumn("importing"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    show = not as_json and err_console.is_terminal
    with Progress(*columns, console=err_console, transient=True, disable=not show) as progress:
        task = progress.add_task("import", total=total)
        report = service.import_csv(
            app.sessions,
            operator(),
            source,
            kind=kind,
            list_name=list_name,
            tags=tags,
            on_progress=lambda done: progress.update(task, completed=done),
        )
    if as_json:
        print_json(report)
        return

    skipped = len(report["skipped"]) + report.get("skipped_not_listed", 0)
    console.print(
        f"{report['rows']} rows: {report['imported']} new, {report['updated']} updated, "
        f"{report['unchanged']} unchanged, {report['merged']} merged into an earlier row, {skipped} skipped.",
        markup=False,
    )
    if report["list"]:
        console.print(f"All imported contacts are on the list {report['list']!r}.", markup=False)
    if skipped:
        console.print("Skipped rows:", markup=False)
        for row in report["skipped"][:SKIPPED_SHOWN]:
            console.print(f"  line {row['line']}: {row['reason']}", markup=False)
        if skipped > SKIPPED_SHOWN:
            console.print(f"  … and {skipped - SKIPPED_SHOWN} more, use --json to see them all", markup=False)


@contacts.command("export")
@click.option("--segment", metavar="NAME", help="Only contacts of this saved segment.")
@click.option("--list", "list_name", metavar="NAME", help="Only members of this static list.")
@click.option("--kind", type=click.Choice(KINDS), help="Only journalists or only supporters.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, writable=True, allow_dash=True), default="-",
    help="Write to this file (UTF-8 with a BOM, so that Excel reads it right) instead of standard output.",
)
@pass_app
def export(app: App, segment: str | None, list_name: str | None, kind: str | None, output: str) -> None:
    """Export contacts as CSV.

    \b
    Columns: email, name, kind, outlet, beat, region, language, place, status, tags
    (comma-separated) and attributes (a JSON object). Filters combine. Cells that a
    spreadsheet would run as a formula (starting with = + - @) get a ' in front; importing
    the file again takes it off.

    \b
    Example:
      distribute contacts export --list "Climate desk" --kind journalist -o climate.csv
    """
    with app.session() as session:
        if output == "-":
            count = service.export_csv(session, operator(), sys.stdout, segment=segment, list_name=list_name, kind=kind)
            sys.stdout.flush()
        else:
            partial = output + ".partial"
            try:
                with open(partial, "w", encoding="utf-8-sig", newline="") as out:
                    count = service.export_csv(session, operator(), out, segment=segment, list_name=list_name, kind=kind)
                os.replace(partial, output)
            finally:
                if os.path.exists(partial):
                    os.remove(partial)
            err_console.print(f"{count} contacts written to {output}", markup=False)


@click.group()
def lists() -> None:
    """Static lists of contacts (made by `contacts import --list`)."""


@lists.command("list")
@json_option
@pass_app
def list_lists(app: App, as_json: bool) -> None:
    """Show every static list with its member count.

    \b
    Example:
      distribute lists list --json
    """
    with app.session() as session:
        rows = service.lists(session, operator())
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("No lists yet: `distribute contacts import FILE --kind journalist --list NAME` makes one.", markup=False)
        return
    width = max(len(row["name"]) for row in rows)
    for row in rows:
        members = row["members"]
        console.print(f"{row['name'].ljust(width)}  {members} member{'s' if members != 1 else ''}", markup=False)


COMMANDS = [contacts, lists]
