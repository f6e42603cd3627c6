"""`distribute segments …`, `distribute suppress` and `distribute suppressions …`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.table import Table

from distribute.audience.rules import EXAMPLE_RULE, KNOWN_FIELDS
from distribute.audience.suppression import SOURCES
from distribute.cli.common import App, console, err_console, json_option, pass_app, print_json
from distribute.errors import Conflict, UserError
from distribute.services import segments as service
from distribute.services import suppression as suppressions
from distribute.services.actor import operator

RULE_HELP = f"""\b
A rule compares contact fields with values:
  {EXAMPLE_RULE}

\b
Fields:    {", ".join(KNOWN_FIELDS)}
           (attr.NAME reads an attribute; tag and list test membership)
Operators: =  !=  in (a, b)  not in (…)  contains  startswith  endswith
           is empty  is not empty
Combine with and, or, not and brackets; not binds tightest, then and, then or.
Values are words or "quoted text"; case does not matter.
"""


def _say(text: str) -> None:
    # markup=False: rules and names may contain [brackets] that rich would eat.
    console.print(text, markup=False)


def _counts_line(counts: dict[str, int]) -> str:
    return (
        f"{counts['recipients']} recipient{'' if counts['recipients'] == 1 else 's'} "
        f"({counts['matched']} matched, {counts['suppressed']} suppressed, {counts['inactive']} inactive)"
    )


@click.group(name="segments", help="Saved audiences: rules over contact fields, tags and lists.\n\n" + RULE_HELP)
def segments_group() -> None:
    pass


@segments_group.command("add", help="Save a segment after checking its rule, and say how many it reaches.\n\n" + RULE_HELP)
@click.argument("name")
@click.option("--where", "rule", required=True, metavar="RULE", help=f"The rule, e.g. '{EXAMPLE_RULE}'.")
@click.option("--replace", is_flag=True, help="Change the rule of an existing segment of that name.")
@json_option
@pass_app
def segments_add(app: App, name: str, rule: str, replace: bool, as_json: bool) -> None:
    try:
        with app.session() as session:
            result = service.add(session, operator(), name, rule, replace=replace)
    except Conflict as exc:
        if exc.field != "name":
            raise
        raise UserError(f"{exc}; add --replace to change its rule") from None
    if as_json:
        print_json(result)
        return
    _say(f"{'replaced' if result['replaced'] else 'saved'} segment {result['segment']!r}: {_counts_line(result)}")
    _say(f"understood as: {result['understood_as']}")


@segments_group.command("check", help="Check a rule and count whom it would reach, without saving it.\n\n" + RULE_HELP)
@click.option("--where", "rule", required=True, metavar="RULE", help="The rule to check.")
@json_option
@pass_app
def segments_check(app: App, rule: str, as_json: bool) -> None:
    with app.session() as session:
        result = service.check(session, operator(), rule)
    if as_json:
        print_json(result)
        return
    _say(f"rule is valid: {_counts_line(result)}")
    _say(f"understood as: {result['understood_as']}")


@segments_group.command("count")
@click.argument("name")
@json_option
@pass_app
def segments_count(app: App, name: str, as_json: bool) -> None:
    """How many a saved segment reaches, after suppressions and unsubscribes."""
    with app.session() as session:
        result = service.count(session, operator(), name)
    if as_json:
        print_json(result)
        return
    _say(f"{result['segment']}: {_counts_line(result)}")


@segments_group.command("list")
@click.option("--counts", "with_counts", is_flag=True, help="Also count each segment's recipients (slower).")
@json_option
@pass_app
def segments_list(app: App, with_counts: bool, as_json: bool) -> None:
    """The saved segments and their rules."""
    with app.session() as session:
        rows = service.list_all(session, operator(), with_counts=with_counts)
    if as_json:
        print_json(rows)
        return
    if not rows:
        _say(f"no segments yet; add one with: distribute segments add NAME --where '{EXAMPLE_RULE}'")
        return
    table = Table("name", "rule", *(["recipients"] if with_counts else []))
    for row in rows:
        table.add_row(row["name"], row["rule"], *([str(row["recipients"])] if with_counts else []))
    console.print(table, markup=False)


@segments_group.command("show")
@click.argument("name")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(0, 10_000), help="Recipients to show.")
@json_option
@pass_app
def segments_show(app: App, name: str, limit: int, as_json: bool) -> None:
    """A segment's rule, counts and a sample of its recipients."""
    with app.session() as session:
        shown = service.show(session, operator(), name, limit=limit)
    if as_json:
        print_json(shown)
        return
    sample = shown["sample"]
    _say(f"segment:    {shown['segment']}")
    _say(f"rule:       {shown['rule']}")
    _say(f"understood: {shown['understood_as']}")
    _say(f"reaches:    {_counts_line(shown)}")
    if sample:
        table = Table("email", "name", "outlet", title=f"first {len(sample)} of {shown['recipients']}")
        for row in sample:
            table.add_row(row["email"], row["name"] or "", row["outlet"] or "")
        console.print(table, markup=False)


@segments_group.command("remove")
@click.argument("name")
@pass_app
def segments_remove(app: App, name: str) -> None:
    """Delete a saved segment (contacts are not touched)."""
    with app.session() as session:
        service.remove(session, operator(), name)
    _say(f"removed segment {name!r}")


# ---------------------------------------------------------------------------------------------


@click.command(name="suppress")
@click.argument("emails", nargs=-1)
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="A file of addresses: one per line, or a CSV with an email column ('-' reads stdin).",
)
@click.option("--reason", required=True, help="Why these addresses must not be mailed; kept with each one.")
@click.option(
    "--source",
    type=click.Choice(SOURCES),
    default=None,
    help="Where the suppression came from [default: manual, or import with --file].",
)
@json_option
@pass_app
def suppress_command(
    app: App, emails: tuple[str, ...], path: Path | None, reason: str, source: str | None, as_json: bool
) -> None:
    """Put addresses on the suppression list: they will never be mailed again.

    \b
    Examples:
      distribute suppress jane@example.org --reason "asked by phone"
      distribute suppress --file bounced.csv --reason "old ESP hard bounces"

    Invalid addresses are reported and the others are still added.
    """
    if not emails and path is None:
        raise UserError("give at least one EMAIL or --file FILE")
    file = sys.stdin if path is not None and str(path) == "-" else path
    with app.session() as session:
        report = suppressions.add(session, operator(), emails=emails, file=file, reason=reason, source=source)
    added, already, invalid = report["added"], report["already"], report["invalid"]
    nothing_valid = bool(invalid) and not (added or already)
    if as_json:
        print_json(report)
    elif not nothing_valid:
        _say(f"suppressed {len(added)} new address{'es' if len(added) != 1 else ''}")
        if added and len(added) <= 20:
            for key in added:
                _say(f"  {key}")
        if already:
            _say(f"{len(already)} already suppressed (kept with their first reason)")
            if len(already) <= 20:
                for key in already:
                    _say(f"  {key}")
        if report["repeated"]:
            _say(f"{report['repeated']} repeated in the input (counted once)")
    if invalid and not as_json:
        err_console.print(f"{len(invalid)} invalid, not suppressed:", markup=False)
        for rejected in invalid:
            where = f"line {rejected['line']}: " if rejected["line"] else ""
            err_console.print(f"  {where}{rejected['reason']}", markup=False)
    if nothing_valid:
        raise UserError("none of the addresses given is valid; nothing was suppressed")


@click.group(name="suppressions")
def suppressions_group() -> None:
    """The suppression list: addresses that are never mailed (add to it with `distribute suppress`)."""


@suppressions_group.command("list")
@click.option("--source", type=click.Choice(SOURCES), help="Only those from this source.")
@click.option("--search", help="Only addresses containing this text.")
@click.option("--limit", type=click.IntRange(1), help="At most this many.")
@json_option
@pass_app
def suppressions_list(app: App, source: str | None, search: str | None, limit: int | None, as_json: bool) -> None:
    """The suppressed addresses, with why and when."""
    with app.session() as session:
        rows = suppressions.list_page(session, operator(), source=source, search=search, limit=limit)
    if as_json:
        print_json(rows)
        return
    if not rows:
        _say("no suppressed addresses" + (" match" if source or search else ""))
        return
    table = Table("email", "source", "reason", "since")
    for row in rows:
        table.add_row(row["email"], row["source"], row["reason"], row["created_at"][:10])
    console.print(table, markup=False)


@suppressions_group.command("remove")
@click.argument("email")
@pass_app
def suppressions_remove(app: App, email: str) -> None:
    """Take an address off the suppression list, so that it can be mailed again."""
    with app.session() as session:
        row = suppressions.remove(session, operator(), email)
    _say(f"removed {row['email']} from the suppression list (was: {row['source']}, {row['reason']!r})")
    status = row["contact_status"]
    if status and status != "active":
        _say(f"note: the contact is still marked {status}, so it will not be mailed until that changes")


COMMANDS = [segments_group, suppress_command, suppressions_group]
