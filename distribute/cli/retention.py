"""`distribute purge`: drop raw tracking data past DISTRIBUTE_RETENTION_DAYS now.

Beat does it hourly in production and the embedded loop of `send` and `run` does too; this is
for a cron job, or to see it done before answering someone who asked."""

from __future__ import annotations

import click

from distribute.cli.common import App, console, json_option, pass_app, print_json
from distribute.feedback.events import purge_expired, retention_cutoff
from distribute.models import utcnow


@click.command()
@json_option
@pass_app
def purge(app: App, as_json: bool) -> None:
    """Drop the raw tracking data (IP addresses, user agents, provider payloads) of events older
    than DISTRIBUTE_RETENTION_DAYS. The events themselves stay, so stats do not change."""
    now = utcnow()
    purged = purge_expired(app.sessions, app.settings, now)
    cutoff = retention_cutoff(app.settings, now)
    if as_json:
        print_json({"events": purged, "retention_days": app.settings.retention_days, "before": cutoff.isoformat()})
        return
    console.print(f"purged raw tracking data from {purged} event{'' if purged == 1 else 's'} "
                  f"older than {app.settings.retention_days} days (before {cutoff:%Y-%m-%d %H:%M} UTC)")


COMMANDS = [purge]
