"""`distribute release …`: add, list, show, preview and check releases."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from distribute.cli.common import App, console, json_option, pass_app, print_json
from distribute.releases.reader import read_file
from distribute.releases.rendering import VARIANTS
from distribute.services import releases
from distribute.services.actor import operator


@click.group()
def release() -> None:
    """Press releases: add them from a file, preview and check them before sending."""


_LANGUAGE_HELP = ("The release's language (en, fr, es, de, ar, pt-br …), over the front matter's language:; "
                  "by default the front matter's, else the one detected from the text.")


@release.command("add")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--title", help="The headline, when the file has none (a pasted plain-text release).")
@click.option("--slug", help="Store it under this name (default: made from the title). If a release has this slug "
                             "and no campaign of it has started, its text is replaced.")
@click.option("--format", "fmt", type=click.Choice(["auto", "markdown", "text"]), default="auto", show_default=True,
              help="How to read FILE: Markdown with a front-matter header, or plain text as pasted.")
@click.option("--language", metavar="TAG", help=_LANGUAGE_HELP)
@json_option
@pass_app
def add(app: App, file: Path, title: str | None, slug: str | None, fmt: str, language: str | None, as_json: bool) -> None:
    """Store a release read from FILE.

    \b
    A Markdown file starts with a front-matter header:
      ---
      title: "New report: …"
      dateline: Geneva
      date: 2026-11-25
      embargo: 2026-12-01 09:00        # in DISTRIBUTE_TIMEZONE unless a zone is given
      language: en                     # detected when left out
      media_contact: {name: …, title: …, organisation: …, email: …, phone: …}
      call_to_action: {label: …, url: https://…}
      ---

    \b
    A plain-text file is read as pasted:
      PRESS RELEASE / FOR IMMEDIATE RELEASE     header lines (en, fr, es, de, ar)
      EMBARGOED UNTIL 00:01 GMT, 8 December 2026
      Headline                                  the first line under them
      Subtitle                                  the line right under it
      WASHINGTON, D.C. (Dec. 5, 2026) – …       the dateline opens the body
      • lists and 1. numbered lists             kept as lists
      Take action: Ask your MP – https://…      the call to action (supporter variant)
      ###  (or -30-, ENDS …)                    the end mark
      Notes to editors / About … / Media contact:

    The call-to-action line is "Take action:" (or "Act now:", "Agir :", "Actúa:",
    "Jetzt handeln:" …), a label, a dash and the link; it is taken out of the body.
    `distribute release show REF` prints what was understood.

    The same text added twice is stored once: the second time says which release it is.

    Example: distribute release add statement.txt --title "Office destroyed in Aleppo"
    """
    _save(app, file, title=title, slug=slug, fmt=fmt, language=language, as_json=as_json)


@release.command("update")
@click.argument("slug")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--title", help="The headline, when the file has none (a pasted plain-text release).")
@click.option("--format", "fmt", type=click.Choice(["auto", "markdown", "text"]), default="auto", show_default=True,
              help="How to read FILE: Markdown with a front-matter header, or plain text as pasted.")
@click.option("--language", metavar="TAG", help=_LANGUAGE_HELP)
@json_option
@pass_app
def update(app: App, slug: str, file: Path, title: str | None, fmt: str, language: str | None, as_json: bool) -> None:
    """Replace the text of release SLUG with FILE, while no campaign of it has started.

    Once a campaign has started, its recipients have the text they were sent: the release is
    kept as it is and the update refused (store the new text as a new release).

    Example: distribute release update office-destroyed-in-aleppo statement-v2.txt
    """
    _save(app, file, title=title, slug=slug, fmt=fmt, language=language, as_json=as_json, must_exist=True)


def _save(app: App, file: Path, *, title: str | None, slug: str | None, fmt: str, language: str | None,
          as_json: bool, must_exist: bool = False) -> None:
    text = releases.Text(read_file(file), str(file), fmt=fmt, title=title, language=language)
    with app.session() as session:
        if must_exist:
            result = releases.update(session, operator(), slug, text, zone=app.settings.zone)
        else:
            result = releases.add(session, operator(), text, zone=app.settings.zone, slug=slug)
    if as_json:
        print_json({key: result[key] for key in ("id", "slug", "title", "dateline", "outcome")})
        return
    if result["outcome"] == "identical":
        console.print(f"{file} is identical to release {result['id']} ([bold]{result['slug']}[/]): nothing stored")
        return
    console.print(f"release {result['id']} {result['outcome']} as [bold]{result['slug']}[/]")
    console.print(f"  title:    {result['title']}", markup=False)
    console.print(f"  dateline: {result['dateline'] or '(none found)'}", markup=False)
    console.print(f"  date:     {result['release_date'] or '(none found)'}")
    console.print(f"  language: {result['language']}")
    if result["embargo_until"]:
        console.print(f"  embargo:  {result['embargo_until'][:16].replace('T', ' ')} UTC")
    console.print(f"next: distribute release show {result['slug']}, then distribute release check {result['slug']}")


@release.command("remove")
@click.argument("ref")
@json_option
@pass_app
def remove(app: App, ref: str, as_json: bool) -> None:
    """Delete a release (by id or slug) that was never sent, with its test sends.

    A release that a campaign has started sending is kept, with its deliveries and stats; a
    scheduled or paused campaign of it must be cancelled first.
    """
    with app.session() as session:
        result = releases.remove(session, operator(), ref)
    if as_json:
        print_json(result)
    else:
        console.print(f"release {result['id']} ({result['slug']}) removed")


@release.command("list")
@json_option
@pass_app
def list_(app: App, as_json: bool) -> None:
    """Every release, newest first, with its state: draft, scheduled, embargoed (sent, not public
    before its embargo lifts) or sent."""
    with app.session() as session:
        rows = releases.list_releases(session, operator())
    if as_json:
        print_json(rows)
        return
    # Full titles: a long one wraps in its column, never cut (two releases can share a beginning).
    table = Table("id", "slug", "title", "state", "embargo", box=None)
    table.columns[1].overflow = "fold"  # a slug is typed in other commands: never cut
    table.columns[2].overflow = "fold"
    table.columns[2].ratio = 1
    for r in rows:
        table.add_row(str(r["id"]), r["slug"], r["title"], r["state"], (r["embargo_until"] or "")[:16])
    console.print(table if rows else "no releases yet: distribute release add FILE")


@release.command("show")
@click.argument("ref")
@json_option
@pass_app
def show(app: App, ref: str, as_json: bool) -> None:
    """Every field the reader understood of a release (by id or slug), then its body.

    Read it before sending: the title is the Subject every recipient sees.
    """
    with app.session() as session:
        data = releases.show(session, operator(), ref)
    if as_json:
        print_json(data)
        return
    for key in ("title", "subtitle", "label", "dateline", "dateline_dash", "release_date", "embargo_until", "language"):
        _field(key, data[key])
    for n, contact in enumerate(data["contacts"], start=1):
        details = [contact.get("name"), contact.get("title"), contact.get("organisation"), contact.get("email"),
                   *(contact.get("phones") or [])]
        _field(f"contact {n}", " | ".join(d for d in details if d))
    if not data["contacts"]:
        _field("contacts", None)
    _field("boilerplate_heading", data["boilerplate_heading"])
    _field("boilerplate", data["boilerplate"])
    for kind, items in ((x["kind"], x["items"]) for x in data["lists"]):
        _field(f"list ({'numbered' if kind == 'ol' else 'bullets'})", "; ".join(items))
    for n, note in enumerate(data["notes"], start=1):
        _field(f"note {n}", note)
    for key in ("end_mark", "cta_label", "cta_url", "source_format", "state", "slug", "id", "created_at"):
        _field(key, data[key])
    console.print()
    console.print(data["body"], markup=False)


def _field(name: str, value) -> None:
    console.print(f"[bold]{name}:[/] ", end="")
    console.print("(none)" if value in (None, "", []) else str(value), markup=False, highlight=False)


@release.command("preview")
@click.argument("ref")
@click.option("--variant", type=click.Choice(VARIANTS), default="journalist", show_default=True)
@click.option("--contact", "contact_email", metavar="EMAIL", help="Personalise for this contact (default: a sample recipient).")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True, help="Write the HTML here.")
@click.option("--eml", type=click.Path(path_type=Path), help="Also write the whole message (.eml) here.")
@click.option("--text", "text_out", type=click.Path(path_type=Path), help="Also write the plain-text part here.")
@pass_app
def preview(app: App, ref: str, variant: str, contact_email: str | None, out: Path, eml: Path | None, text_out: Path | None) -> None:
    """Write the email a recipient would get, to look at it before sending.

    Example: distribute release preview 1 --variant supporter --out preview.html --eml preview.eml
    """
    with app.session() as session:
        shown = releases.preview(session, operator(), ref, settings=app.settings, variants=[variant],
                                 contact=contact_email, with_eml=eml is not None)["variants"][0]
    for path, data in ((out, shown["html"]), (text_out, shown["text"])):
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(data, encoding="utf-8")
    if eml:
        eml.parent.mkdir(parents=True, exist_ok=True)
        eml.write_bytes(shown["eml"])
    size = shown["html_bytes"] / 1024
    console.print(f"{variant} preview for {shown['recipient']['email']}: {out} ({size:.1f} KB HTML)" + (f", {eml}" if eml else ""))


@release.command("check")
@click.argument("ref")
@click.option("--variant", type=click.Choice(VARIANTS), multiple=True,
              help="Check for this variant only (repeatable); default: both.")
@json_option
@pass_app
def check(app: App, ref: str, variant: tuple[str, ...], as_json: bool) -> None:
    """Pre-flight check before sending; exits 1 when a variant asked for has an error.

    Each finding names its variant (or both). Errors: a journalist variant without a media
    contact, a supporter variant without a call to action, HTML over Gmail's 102 KB clipping
    limit, images without alt text or an http(s) source, links that are not http(s). Warnings: no dateline or
    release date found, a title that looks like a header label or a date, a contact without
    email or phone, an embargo time in the past, email words missing in the release's language.

    Example: distribute release check office-destroyed --variant journalist
    """
    with app.session() as session:
        result = releases.check(session, operator(), ref, settings=app.settings, variants=variant)
    findings = result["findings"]
    if as_json:
        print_json(result)
    elif not findings:
        console.print(f"{result['release']}: no problems found ({', '.join(result['variants'])})")
    else:
        table = Table("severity", "variant", "finding", box=None)
        for f in findings:
            colour = "red" if f["severity"] == "error" else "yellow"
            table.add_row(f"[{colour}]{f['severity']}[/]", f["variant"] or "both", f["message"])
        console.print(table)
        console.print(f"{result['errors']} error(s), {result['warnings']} warning(s)")
    if result["errors"]:
        raise click.exceptions.Exit(1)


COMMANDS = [release]
