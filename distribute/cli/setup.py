"""`distribute init` and `distribute demo`."""

from __future__ import annotations

from pathlib import Path

import click

from distribute.cli.campaigns import follow
from distribute.cli.common import App, console, pass_app
from distribute.cli.stats import print_stats
from distribute.paths import SAMPLES_DIR
from distribute.sending.campaigns import AlreadySent
from distribute.services import campaigns as sends
from distribute.services import contacts as contact_service
from distribute.services import releases as release_service
from distribute.services import segments as segment_service
from distribute.services import stats as results
from distribute.services import users
from distribute.services.actor import operator

DEMO_ADMIN = "admin@example.org"
DEMO_SEGMENTS = {
    "mideast-rights": 'kind = journalist and beat in ("middle east", "human rights") and not tag = "do-not-pitch"',
    "supporters": "kind = supporter",
}
DEMO_SENDS = (("journalist", "mideast-rights"), ("supporter", "supporters"))  # (variant, segment)


@click.command()
@pass_app
def init(app: App) -> None:
    """Create the database, or upgrade it to the current schema."""
    app.init_schema()
    console.print(f"database ready: {app.engine.url.render_as_string(hide_password=True)}")


@click.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("preview"), show_default=True,
              help="Where to write the previews.")
@pass_app
def demo(app: App, out: Path) -> None:
    """Run the main job on the samples shipped with distribute.

    Creates the database, imports the sample journalists and supporters, saves two segments,
    adds the sample release, checks it, writes both email variants to --out, then sends the
    release to the journalists and to the supporters through the Celery tasks (embedded worker
    and file outbox unless DISTRIBUTE_BROKER_URL / DISTRIBUTE_SMTP_URL say otherwise) and shows
    the stats. Safe to run again: nothing is imported, stored or sent twice.
    """
    app.init_schema()
    console.print(f"[bold]1. database[/] {app.engine.url.render_as_string(hide_password=True)}")

    console.print("[bold]2. contacts[/]")
    for file, kind, list_name in (("contacts.csv", "journalist", "press"), ("supporters.csv", "supporter", "supporters")):
        report = contact_service.import_csv(app.sessions, operator(), SAMPLES_DIR / file, kind=kind,
                                            list_name=list_name)
        console.print(f"   {file}: {report['imported']} imported, {report['updated']} updated, "
                      f"{report['unchanged']} unchanged, {len(report['skipped'])} skipped ({kind}s, list '{list_name}')")

    console.print("[bold]3. segments[/]")
    with app.session() as session:
        for name, rule in DEMO_SEGMENTS.items():
            counts = segment_service.add(session, operator(), name, rule, replace=True)
            console.print(f"   {name}: {counts['recipients']} recipients  [dim]{rule}[/]")

    console.print("[bold]4. release[/]")
    text = release_service.Text((SAMPLES_DIR / "release.md").read_bytes(), "release.md")
    with app.session() as session:
        release = release_service.add(session, operator(), text, zone=app.settings.zone)  # "identical" the next time
        slug = release["slug"]
        console.print(f"   {slug} (id {release['id']}), dateline {release['dateline']}")

        console.print("[bold]5. pre-flight check[/]")
        checked = release_service.check(session, operator(), slug, settings=app.settings)
        for f in checked["findings"]:
            console.print(f"   {f['severity']}: {f['message']}")
        if not checked["findings"]:
            console.print("   no problems found")

        console.print(f"[bold]6. previews[/] in {out}/")
        out.mkdir(parents=True, exist_ok=True)
        for variant, segment in DEMO_SENDS:
            person = sends.dry_run(session, operator(), slug, [f"segment:{segment}"], sample=1)["sample"][0]
            shown = release_service.preview(session, operator(), slug, settings=app.settings, variants=[variant],
                                            contact=person["email"], with_eml=True)["variants"][0]
            (out / f"{variant}.html").write_text(shown["html"], encoding="utf-8")
            (out / f"{variant}.eml").write_bytes(shown["eml"])
            console.print(f"   {out / (variant + '.html')} and .eml, as {person['name']} <{person['email']}> would get it")
    if not checked["ok"]:
        raise click.exceptions.Exit(1)

    transport = "SMTP" if app.settings.smtp_url else f"the outbox {app.settings.outbox_dir}/"
    console.print(f"[bold]7. send[/] through {'the workers' if app.settings.broker_url else 'an embedded worker'} to {transport}")
    new, existing = [], []
    for variant, segment in DEMO_SENDS:
        try:
            with app.session() as session:
                new.append(sends.create(session, operator(), slug, targets=[f"segment:{segment}"], variant=variant,
                                        zone=app.settings.zone)["id"])
        except AlreadySent as sent:
            existing.append(sent.campaign_id)
            console.print(f"   {variant}s: already sent as campaign {sent.campaign_id}")
    if new:
        follow(app, new)
    console.print("[bold]8. stats[/]")
    with app.session() as session:
        for campaign_id in new + existing:
            print_stats(results.campaign(session, operator(), campaign_id))
    console.print(f"done: previews in {out}/, messages in {app.settings.outbox_dir}/; "
                  "see `distribute stats ID --json` and `distribute --help`.")
    console.print(f"`distribute serve` answers the links in those messages (opens, clicks, unsubscribe, "
                  f"the web version) at {app.settings.base_url}.")
    _staff_sign_in(app)


def _staff_sign_in(app: App) -> None:
    """How to sign in to the staff app: with no user yet, an admin and the link to set a password."""
    staff_url = app.settings.staff_url
    with app.session() as session:
        first = not users.list_users(session, operator())
        if first:
            user, token = users.invite(session, operator(), DEMO_ADMIN, role="admin", name="Demo admin",
                                       secret=app.settings.secret)
    console.print("[bold]9. staff app[/] `distribute staff` serves it at " + staff_url)
    if first:
        console.print(f"   an admin {user['email']} was added: set their password at {staff_url}/reset/{token} "
                      "(it works once), then sign in", soft_wrap=True)
    else:
        console.print("   sign in with your account; `distribute users reset EMAIL` prints a new password link")


COMMANDS = [init, demo]
