"""`distribute send`, `distribute campaigns …`, `distribute stats`, `distribute run`: options in,
services/campaigns.py and services/stats.py called as the local operator, tables or JSON out."""

from __future__ import annotations

import time

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from distribute.cli.common import App, console, err_console, json_option, pass_app, print_json
from distribute.cli.stats import print_stats
from distribute.models import utcnow
from distribute.releases.rendering import VARIANTS
from distribute.services import campaigns as sends
from distribute.services import stats as results
from distribute.services.actor import operator

# Workers stop within a second or two (sender.STATE_CHECK_SECONDS); on a loaded machine a worker
# holding a message mid-reply can take longer, and the command returns as soon as none is in hand.
CANCEL_SETTLE_SECONDS = 30.0


def _progress_bar(quiet: bool) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=err_console, disable=quiet, transient=False)


def follow(app: App, campaign_ids: list[int], quiet: bool = False) -> list[dict]:
    """Send through the embedded worker, or follow production workers, with a progress bar that
    says what holds a campaign up; returns the campaigns as they ended (or stand) and says so."""
    actor = operator()
    with _progress_bar(quiet) as bar:
        label = f"campaign {', '.join(map(str, campaign_ids))}"
        task = bar.add_task(label, total=None)

        def show(session) -> dict:
            now = sends.watch(session, actor, campaign_ids)
            waits = [c["waiting"] for c in now["campaigns"] if c["waiting"]]
            note = f" (waiting for the mail relay: {waits[0][:60]})" if waits else ""
            bar.update(task, completed=now["done"], total=now["total"] or None, description=label + note)
            return now

        if app.settings.broker_url:
            sends.start(actor, app.settings, campaign_ids)  # due ones start now; the rest when beat finds them
            while True:
                with app.session() as session:
                    if not show(session)["active"]:
                        break
                time.sleep(0.5)
        else:
            sends.run_embedded(actor, app.settings, campaign_ids, show)
        with app.session() as session:
            ended = show(session)["campaigns"]
    for c in ended:
        if c["state"] in sends.STOPPED and not quiet:
            err_console.print(f"campaign {c['id']} {c['state']}" + (f": {c['reason']}" if c["reason"] else ""),
                              markup=False)
    return ended


def exit_if_stopped(ended: list[dict]) -> None:
    """A script can tell: status 1 when a campaign ended paused, cancelled or failed."""
    if any(c["state"] in sends.STOPPED for c in ended):
        raise click.exceptions.Exit(1)


@click.command()
@click.argument("release_ref", metavar="RELEASE")
@click.option("--to", "targets", multiple=True, metavar="SEGMENT_OR_LIST",
              help="Who receives it: a saved segment or a static list (repeat for more; segment:NAME or list:NAME when both exist).")
@click.option("--variant", type=click.Choice(VARIANTS), default="journalist", show_default=True)
@click.option("--at", metavar="WHEN", help="Send later: 2026-12-01T09:00+01:00, or a local time in DISTRIBUTE_TIMEZONE.")
@click.option("--test", "test", multiple=True, metavar="EMAIL", help="Send only to these addresses, as a test (kept out of stats).")
@click.option("--dry-run", is_flag=True, help="Show the audience count and a sample; queue nothing.")
@click.option("--again", is_flag=True,
              help="Mail addresses that already have this release from another campaign (normally each address "
                   "gets one copy of a release, whatever campaign it came from), and allow a second campaign to the "
                   "same audience.")
@click.option("--no-wait", is_flag=True, help="With real workers: queue and return at once (the default follows progress).")
@click.option("--track/--no-track", default=None,
              help="Count opens (a pixel) and clicks (signed redirect links). Journalists often prefer untracked "
                   "mail: --no-track leaves links as written. Default: DISTRIBUTE_TRACK_BY_DEFAULT (on).")
@json_option
@pass_app
def send(app: App, release_ref: str, targets: tuple[str, ...], variant: str, at: str | None, test: tuple[str, ...],
         dry_run: bool, again: bool, no_wait: bool, track: bool | None, as_json: bool) -> None:
    """Send a release to segments and lists, now or at a set time.

    \b
    Examples:
      distribute send 3 --to mideast-rights --dry-run
      distribute send 3 --to mideast-rights --to list:press-2026
      distribute send 3 --to supporters --variant supporter --at "2026-12-01 09:00"
      distribute send 3 --test me@example.org

    Without DISTRIBUTE_BROKER_URL the command sends through an embedded worker and returns when
    done; with it, real workers send and the command follows their progress.
    """
    if dry_run:
        with app.session() as session:
            result = sends.dry_run(session, operator(), release_ref, list(targets))
        if as_json:
            print_json(result)
            return
        console.print(f"{result['recipients']} recipients ({result['matched']} matched, {result['suppressed']} suppressed, "
                      f"{result['inactive']} unsubscribed or bounced); nothing queued")
        _say_already(result, again)
        for person in result["sample"]:
            console.print(f"  {person['email']}  {person['name'] or ''}  {person['outlet'] or ''}")
        return
    with app.session() as session:
        campaign = sends.create(session, operator(), release_ref, targets=list(targets), variant=variant,
                                zone=app.settings.zone, at=at, test=list(test), again=again,
                                track=app.settings.track_by_default if track is None else track)
    campaign_id = campaign["id"]
    ended: list[dict] = []
    if not as_json:
        when = "sending now" if campaign["due"] else f"scheduled for {campaign['scheduled_at'][:16].replace('T', ' ')} UTC"
        console.print(f"campaign {campaign_id}: {variant} variant, {when}")
        if campaign["audience_counts"]:
            _say_already(campaign["audience_counts"], again)
    if not campaign["due"]:
        if not app.settings.broker_url and not as_json:
            console.print("it starts when due while `distribute run` (embedded) or `celery -A worker beat` (production) runs")
    elif not no_wait or not app.settings.broker_url:
        ended = follow(app, [campaign_id], quiet=as_json)
    else:
        sends.start(operator(), app.settings, [campaign_id])
    with app.session() as session:
        stats = results.campaign(session, operator(), campaign_id)
    if as_json:
        print_json(stats)
    else:
        print_stats(stats)
    exit_if_stopped(ended)


def _say_already(counts: dict, again: bool) -> None:
    """One release, one copy per address: say how many of the audience already have it."""
    n = counts["already_have"]
    if not n:
        return
    if again:
        console.print(f"{n} of the {counts['recipients']} recipients already have this release: --again mails them again")
    else:
        console.print(f"{n} of the {counts['recipients']} recipients already have this release and are skipped "
                      f"(one copy per address; --again mails them too): {counts['recipients'] - n} to send")


@click.command()
@pass_app
def run(app: App) -> None:
    """Embedded mode: serve scheduled campaigns and retries until interrupted (Ctrl-C), with a
    line for each campaign that starts, waits for the relay, stops or finishes.

    In production run `celery -A worker worker` and `celery -A worker beat` instead.
    """
    if app.settings.broker_url:
        raise click.ClickException("DISTRIBUTE_BROKER_URL is set: run `celery -A worker worker` and `celery -A worker beat`")
    console.print("serving scheduled campaigns and retries; Ctrl-C to stop")
    try:
        sends.run_embedded(operator(), app.settings, [], _RunReport(), forever=True)
    except KeyboardInterrupt:
        console.print("stopped")


class _RunReport:
    """`distribute run`'s log: one line per campaign as it starts, waits, stops or finishes."""

    def __init__(self):
        self.since = utcnow()
        self.seen: dict[int, tuple[str, str | None]] = {}  # campaign -> (state, what it waits for)
        self.next_look = 0.0

    def __call__(self, session) -> None:
        if time.monotonic() < self.next_look:
            return
        self.next_look = time.monotonic() + 1.0
        for c in sends.activity(session, operator(), self.since, list(self.seen)):
            now = (c["state"], c["waiting"])
            before = self.seen.get(c["id"])
            if now == before:
                continue
            self.seen[c["id"]] = now
            counts = c["counts"]
            summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items(), key=lambda kv: -kv[1]))
            stamp = f"{utcnow():%H:%M:%S}"
            if c["waiting"]:
                console.print(f"{stamp} campaign {c['id']} waits for the mail relay: {c['waiting']}", markup=False)
            elif c["state"] == "sending":
                verb = "started" if before is None else "sending"
                console.print(f"{stamp} campaign {c['id']} {verb}: {sum(counts.values())} recipients", markup=False)
            elif c["state"] in ("sent", *sends.STOPPED):
                reason = f" ({c['reason']})" if c["reason"] and c["state"] != "sent" else ""
                console.print(f"{stamp} campaign {c['id']} {c['state']}{reason}: {summary or 'no recipients'}",
                              markup=False)


@click.group()
def campaigns() -> None:
    """List, inspect and control campaigns."""


@campaigns.command("list")
@json_option
@pass_app
def list_(app: App, as_json: bool) -> None:
    """The latest campaigns, newest first."""
    with app.session() as session:
        rows = sends.list_campaigns(session, operator())
    if as_json:
        print_json(rows)
        return
    table = Table("id", "release", "variant", "state", "recipients", "audience", "scheduled", box=None)
    for r in rows:
        audience = sends.describe_audience(r["audience"])
        table.add_row(str(r["id"]), r["release"][:40], r["variant"], r["state"], str(r["recipients"]), audience[:40],
                      (r["scheduled_at"] or "")[:16])
    console.print(table if rows else "no campaigns yet: distribute send RELEASE --to SEGMENT")


@campaigns.command("show")
@click.argument("campaign_id", type=int)
@json_option
@pass_app
def show(app: App, campaign_id: int, as_json: bool) -> None:
    """One campaign: its audience and times, then its stats."""
    with app.session() as session:
        data = sends.get(session, operator(), campaign_id)
    if as_json:
        print_json(data)
        return
    console.print(f"audience: {sends.describe_audience(data['audience'])}; scheduled {data['scheduled_at']}, "
                  f"started {data['started_at'] or '-'}, finished {data['finished_at'] or '-'}")
    print_stats(data)


@campaigns.command("pause")
@click.argument("campaign_id", type=int)
@pass_app
def pause(app: App, campaign_id: int) -> None:
    """Stop sending within seconds; `resume` continues from where it stopped."""
    with app.session() as session:
        sends.pause(session, operator(), campaign_id)
    console.print(f"campaign {campaign_id} paused")


@campaigns.command("resume")
@click.argument("campaign_id", type=int)
@click.option("--no-wait", is_flag=True, help="With real workers: return at once (the default follows progress).")
@pass_app
def resume(app: App, campaign_id: int, no_wait: bool) -> None:
    """Continue a paused campaign; exits 1 if it ends paused, cancelled or failed again."""
    with app.session() as session:
        campaign = sends.resume(session, operator(), campaign_id)
    if campaign["state"] == "scheduled" and not campaign["due"]:
        runner = "`celery -A worker beat`" if app.settings.broker_url else "`distribute run`"
        console.print(f"campaign {campaign_id} scheduled again: it starts at "
                      f"{campaign['scheduled_at'][:16].replace('T', ' ')} UTC while {runner} runs")
        return
    console.print(f"campaign {campaign_id} {campaign['state']}")
    if no_wait and app.settings.broker_url:
        return
    exit_if_stopped(follow(app, [campaign_id]))


@campaigns.command("cancel")
@click.argument("campaign_id", type=int)
@json_option
@pass_app
def cancel(app: App, campaign_id: int, as_json: bool) -> None:
    """Cancel: every delivery not yet sent ends `cancelled`.

    Messages a worker is sending at that moment finish (sent, or given back and cancelled)
    within a second or two; the command waits for them and then counts.
    """
    with app.session() as session:
        result = sends.cancel(session, operator(), campaign_id)
    deadline = time.monotonic() + CANCEL_SETTLE_SECONDS
    while result["in_hand"] and time.monotonic() < deadline:
        time.sleep(0.3)
        with app.session() as session:
            result = sends.cancel_outcome(session, operator(), campaign_id)
    if as_json:
        print_json(result)
        return
    console.print(f"campaign {campaign_id} cancelled: {result['cancelled']} deliveries cancelled, "
                  f"{result['sent']} sent before the cancel")
    if result["in_hand"]:
        console.print(f"{result['in_hand']} were not settled yet (in a worker's hands, or given back by one): they "
                      "end sent or cancelled when it finishes them, at the next sweep, or after their lease if the "
                      "worker died")


@campaigns.command("retry")
@click.argument("campaign_id", type=int)
@click.option("--unknown", is_flag=True,
              help="Resend the deliveries whose fate is unknown (a worker died mid-transaction): they may arrive twice.")
@pass_app
def retry(app: App, campaign_id: int, unknown: bool) -> None:
    """Send again to the recipients that ended `failed` (or `unknown` with --unknown)."""
    with app.session() as session:
        n = sends.retry(session, operator(), campaign_id, unknown=unknown)["requeued"]
    console.print(f"campaign {campaign_id}: {n} deliveries queued again")
    if n:
        exit_if_stopped(follow(app, [campaign_id]))


COMMANDS = [send, run, campaigns]
