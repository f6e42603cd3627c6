"""The `distribute` command.

Each command's module is imported only when that command runs: `distribute stats` does not load
the sending pipeline, and `distribute --help` lists the commands from the table below without
importing any (tests/cli/test_lazy.py checks the table against the commands themselves).
"""

from __future__ import annotations

import importlib

import click

# command → (its module in distribute.cli, its one-line help as `--help` shows it)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("setup", "Create the database, or upgrade it to the current schema."),
    "demo": ("setup", "Run the main job on the samples shipped with distribute."),
    "release": ("releases", "Press releases: add them from a file, preview and check them before sending."),
    "contacts": ("contacts", "Import and export journalists and supporters."),
    "lists": ("contacts", "Static lists of contacts (made by `contacts import --list`)."),
    "segments": ("segments", "Saved audiences: rules over contact fields, tags and lists."),
    "suppress": ("segments", "Put addresses on the suppression list: they will never be mailed again."),
    "suppressions": ("segments", "The suppression list: addresses that are never mailed (add to it with "
                                 "`distribute suppress`)."),
    "send": ("campaigns", "Send a release to segments and lists, now or at a set time."),
    "run": ("campaigns", "Embedded mode: serve scheduled campaigns and retries until interrupted (Ctrl-C), with a "
                         "line for each campaign that starts, waits for the relay, stops or finishes."),
    "campaigns": ("campaigns", "List, inspect and control campaigns."),
    "stats": ("stats", "How a campaign did: counts per state, send rate, domains, last errors; opens (human and "
                       "machine apart), clicks per link, unsubscribes, complaints and bounces (`distribute stats ID`)."),
    "bounces": ("bounces", "Read bounces, delay warnings, auto-replies and complaints."),
    "purge": ("retention", "Drop the raw tracking data (IP addresses, user agents, provider payloads) of events older "
                           "than DISTRIBUTE_RETENTION_DAYS."),
    "serve": ("serve", "Serve the public web app with gunicorn: open pixel, click redirect, unsubscribe and "
                       "preferences, web versions of releases, ESP webhooks."),
    "dkim": ("dkim", "DKIM signing keys and the DNS records a sending domain needs."),
    "users": ("users", "Staff who sign in to the web app: add them, set roles, hand over password links."),
    "tokens": ("users", "Bearer tokens for the JSON API (/api/v1)."),
    "audit": ("users", "Who changed what, newest first."),
}


class _Group(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module = importlib.import_module(f"distribute.cli.{COMMANDS[name][0]}")
        return next(c for c in module.COMMANDS if c.name == name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, _shorten(COMMANDS[name][1], limit)) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):
        from distribute.cli.common import error_text
        from distribute.config import ConfigError
        from distribute.errors import UserError

        # User-facing errors become click's "Error: …" line and exit status 1, never a traceback.
        try:
            return super().invoke(ctx)
        except (UserError, ConfigError) as exc:
            raise click.ClickException(error_text(exc)) from exc


def _shorten(text: str, limit: int) -> str:
    """As click shortens a command's help in a listing (whole words, then '...'), by click itself."""
    return click.Command(None, help=text).get_short_help_str(limit)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="distribute")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Write, target, send and track press releases.

    Configuration comes from DISTRIBUTE_* environment variables (see the README); with none set,
    everything runs embedded: a SQLite file and a file outbox in the current directory.
    """
    from distribute.cli.common import App
    from distribute.config import ConfigError, load_settings

    try:
        ctx.obj = App(load_settings())
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    ctx.call_on_close(ctx.obj.close)


main = cli
