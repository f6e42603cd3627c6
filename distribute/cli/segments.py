"""`distribute segments …`, `distribute suppress` and `distribute suppressions …`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.table import Table
from sqlalchemy import select

from distribute.audience.resolve import count_audience, count_matching, sample_recipients
from distribute.cli.common import App, console, err_console, json_option, pass_app, print_json
from distribute.errors import UserError
from distribute.models import Contact, Segment
from distribute.audience.segments import (
    EXAMPLE_RULE,
    KNOWN_FIELDS,
    SegmentExists,
    add_segment,
    get_segment,
    list_segments,
    parse_rule,
    remove_segment,
    segment_expression,
)
from distribute.audience.suppression import (
    SOURCES,
    SuppressionReport,
    import_suppressions,
    list_suppressions,
    suppress,
    unsuppress,
)

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
    with app.session() as session:
        existed = session.scalar(select(Segment.id).where(Segment.name == name.strip())) is not None
        try:
            segment = add_segment(session, name, rule, replace=replace)
        except SegmentExists as exc:
            raise UserError(f"{exc}; add --replace to change its rule") from None
        counts = count_matching(session, segment_expression(session, segment))
    if as_json:
        print_json({"segment": segment.name, "rule": segment.rule, "replaced": existed, **counts})
        return
    _say(f"{'replaced' if existed else 'saved'} segment {segment.name!r}: {_counts_line(counts)}")
    _say(f"understood as: {parse_rule(segment.rule)}")


@segments_group.command("check", help="Check a rule and count whom it would reach, without saving it.\n\n" + RULE_HELP)
@click.option("--where", "rule", required=True, metavar="RULE", help="The rule to check.")
@json_option
@pass_app
def segments_check(app: App, rule: str, as_json: bool) -> None:
    parsed = parse_rule(rule)
    with app.session() as session:
        parsed.check(session)
        counts = count_matching(session, parsed.to_sql())
    if as_json:
        print_json({"rule": parsed.text, "understood_as": str(parsed), **counts})
        return
    _say(f"rule is valid: {_counts_line(counts)}")
    _say(f"understood as: {parsed}")


@segments_group.command("count")
@click.argument("name")
@json_option
@pass_app
def segments_count(app: App, name: str, as_json: bool) -> None:
    """How many a saved segment reaches, after suppressions and unsubscribes."""
    with app.session() as session:
        segment = get_segment(session, name)
        counts = count_audience(session, segments=[segment.name])
    if as_json:
        print_json({"segment": segment.name, "rule": segment.rule, **counts})
        return
    _say(f"{segment.name}: {_counts_line(counts)}")


@segments_group.command("list")
@click.option("--counts", "with_counts", is_flag=True, help="Also count each segment's recipients (slower).")
@json_option
@pass_app
def segments_list(app: App, with_counts: bool, as_json: bool) -> None:
    """The saved segments and their rules."""
    rows = []
    with app.session() as session:
        for segment in list_segments(session):
            row = {"name": segment.name, "rule": segment.rule, "created_at": segment.created_at.isoformat()}
            if with_counts:
                row.update(count_audience(session, segments=[segment.name]))
            rows.append(row)
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
        segment = get_segment(session, name)
        match = segment_expression(session, segment)
        counts = count_matching(session, match)
        sample = [_contact_row(c) for c in sample_recipients(session, match, limit)] if limit else []
    if as_json:
        print_json(
            {
                "segment": segment.name,
                "rule": segment.rule,
                "created_at": segment.created_at.isoformat(),
                **counts,
                "sample": sample,
            }
        )
        return
    _say(f"segment:    {segment.name}")
    _say(f"rule:       {segment.rule}")
    _say(f"understood: {parse_rule(segment.rule)}")
    _say(f"reaches:    {_counts_line(counts)}")
    if sample:
        table = Table("email", "name", "outlet", title=f"first {len(sample)} of {counts['recipients']}")
        for row in sample:
            table.add_row(row["email"], row["name"] or "", row["outlet"] or "")
        console.print(table, markup=False)


@segments_group.command("remove")
@click.argument("name")
@pass_app
def segments_remove(app: App, name: str) -> None:
    """Delete a saved segment (contacts are not touched)."""
    with app.session() as session:
        remove_segment(session, name)
    _say(f"removed segment {name!r}")


def _contact_row(contact: Contact) -> dict:
    return {"email": contact.email, "name": contact.name, "outlet": contact.outlet}


# ---------------------------------------------------------------------------------------------


def _merge(reports: list[SuppressionReport]) -> SuppressionReport:
    merged = SuppressionReport()
    for report in reports:
        merged.added += report.added
        merged.already += [key for key in report.already if key not in merged.added]
        merged.invalid += report.invalid
        merged.repeated += report.repeated
    return merged


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
    reports = []
    with app.session() as session:
        if emails:
            reports.append(suppress(session, emails, reason, source=source or "manual"))
        if path is not None:
            if str(path) == "-":
                reports.append(import_suppressions(session, sys.stdin, reason, source=source or "import"))
            else:
                reports.append(import_suppressions(session, path, reason, source=source or "import"))
    report = _merge(reports)
    nothing_valid = bool(report.invalid) and not (report.added or report.already)
    if as_json:
        print_json(report.as_dict())
    elif not nothing_valid:
        _say(f"suppressed {len(report.added)} new address{'es' if len(report.added) != 1 else ''}")
        if report.added and len(report.added) <= 20:
            for key in report.added:
                _say(f"  {key}")
        if report.already:
            _say(f"{len(report.already)} already suppressed (kept with their first reason)")
            if len(report.already) <= 20:
                for key in report.already:
                    _say(f"  {key}")
        if report.repeated:
            _say(f"{report.repeated} repeated in the input (counted once)")
    if report.invalid and not as_json:
        err_console.print(f"{len(report.invalid)} invalid, not suppressed:", markup=False)
        for rejected in report.invalid:
            where = f"line {rejected.line}: " if rejected.line else ""
            err_console.print(f"  {where}{rejected.reason}", markup=False)
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
        rows = [
            {"email": s.email_key, "reason": s.reason, "source": s.source, "created_at": s.created_at.isoformat()}
            for s in list_suppressions(session, source=source, search=search, limit=limit)
        ]
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
        row = unsuppress(session, email)
        status = session.scalar(select(Contact.status).where(Contact.email_key == row.email_key))
    _say(f"removed {row.email_key} from the suppression list (was: {row.source}, {row.reason!r})")
    if status and status != "active":
        _say(f"note: the contact is still marked {status}, so it will not be mailed until that changes")


COMMANDS = [segments_group, suppress_command, suppressions_group]
