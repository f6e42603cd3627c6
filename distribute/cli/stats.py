"""`distribute stats ID` (how a campaign did) and `distribute stats recount [ID]` (the counters
against an exact recount). Only what these need is imported: the command starts fast, and with
--json without rich (`common.console` loads it for the text)."""

from __future__ import annotations

import click

from distribute.cli import common
from distribute.cli.common import App, json_option, pass_app, print_json
from distribute.services import stats as results
from distribute.services.actor import operator


class _ShowByDefault(click.Group):
    """`distribute stats ID …` means `distribute stats show ID …`: a campaign id is no subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["show", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_ShowByDefault)
def stats() -> None:
    """How a campaign did: counts per state, send rate, domains, last errors; opens (human and
    machine apart), clicks per link, unsubscribes, complaints and bounces (`distribute stats ID`)."""


@stats.command("show")
@click.argument("campaign_id", type=int)
@click.option("--recipients", "detail_limit", type=click.IntRange(0), default=200, show_default=True,
              help="List at most this many recipients with feedback or failures, each with its events.")
@json_option
@pass_app
def show(app: App, campaign_id: int, detail_limit: int, as_json: bool) -> None:
    """How a campaign did: counts per state, send rate, domains, last errors; opens (human and
    machine apart), clicks per link, unsubscribes, complaints and bounces, in totals and per recipient."""
    with app.session() as session:
        data = results.campaign(session, operator(), campaign_id, detail_limit=detail_limit)
    if as_json:
        print_json(data)
    else:
        print_stats(data)


@stats.command("recount")
@click.argument("campaign_id", type=int, required=False)
@pass_app
def recount(app: App, campaign_id: int | None) -> None:
    """Count a campaign (or every campaign) again from its deliveries and events, and repair any
    drift of its counters (what beat does every few hours for recent campaigns)."""
    with app.session() as session:
        fixed = results.recount(session, operator(), app.engine, campaign_id)
    console = common.console
    if not fixed:
        console.print("counters exact: nothing to repair")
    for cid, changes in fixed.items():
        console.print(f"campaign {cid}: repaired {len(changes)} counters (counted → exact)")
        for name, (have, want) in sorted(changes.items())[:20]:
            console.print(f"  {name}: {have} → {want}", markup=False)


def print_stats(s: dict) -> None:
    console = common.console
    console.print(f"[bold]campaign {s['campaign']}[/] {s['release']} ({s['variant']}{', test' if s['test'] else ''}): "
                  f"[bold]{s['state']}[/]" + (f" — {s['reason']}" if s["reason"] else ""))
    if s["waiting"]:
        w = s["waiting"]
        console.print(f"  waiting for the mail relay since {w['since'][:19]} UTC, next try {w['until'][11:19]}: "
                      f"{w['reason']}", markup=False)
    counts = "  ".join(f"{k} {v}" for k, v in s["counts"].items() if v)
    console.print(f"  {s['recipients']} recipients: {counts or 'none yet'}")
    if s["first_sent_at"]:
        rate = f", {s['send_rate_per_second']}/s" if s["send_rate_per_second"] else ""
        console.print(f"  sent {s['first_sent_at'][:19]} → {s['last_sent_at'][:19]} UTC{rate}")
    if len(s["domains"]) > 1:
        console.print("  top domains: " + ", ".join(f"{d['domain']} {d['total']}" for d in s["domains"][:5]))
    for e in s["last_errors"][:5]:
        console.print(f"  {e['state']}: {e['email']} {e['code'] or ''} {e['reply'] or ''}"[:160], markup=False)
    f = s["feedback"]
    if not s["tracked"]:
        console.print("  tracking off: no opens or clicks are recorded")
    else:
        console.print(f"  opened {f['opened']} ({f['opened_human']} by people, {f['opened_machine_only']} by machines only), "
                      f"clicked {f['clicked']} ({f['clicks']} clicks)")
    b = f["bounced"]
    console.print(f"  unsubscribed {f['unsubscribed']}, complained {f['complained']}, "
                  f"bounced {b['hard']} hard, {b['soft']} soft, {b['block']} blocked")
    for link in s["links"]:
        if link["clicks"]:
            console.print(f"    {link['clicks']:>5} clicks  {link['url']}"[:160], markup=False)
    for r in s["recipients_detail"][:20]:
        what = ", ".join(part for part in (
            f"{r['opens']} opens ({r['human_opens']} human)" if r["opens"] else "",
            f"{r['clicks']} clicks" if r["clicks"] else "",
            "unsubscribed" if r["unsubscribed_at"] else "", "complained" if r["complained_at"] else "",
            f"{r['bounce']} bounce" if r["bounce"] else "") if part)
        console.print(f"  {r['email']}: {r['state']}" + (f" — {what}" if what else ""), markup=False)


COMMANDS = [stats]
