"""The `distribute` command.

Commands load on use: COMMANDS maps each name to the module and attribute that define it, with
the one-line summary `distribute --help` lists, so that the help (and a mistyped name) answers
without importing SQLAlchemy, Celery or the pipeline. Each command module still lists its
commands in its own COMMANDS; tests/cli/test_lazy.py checks that this table names exactly those,
with each command's own summary. A new command: its module's COMMANDS, and one line here.

The console script keeps the cyclic garbage collector off what starting a command loads (`main`).
"""

from __future__ import annotations

import atexit
import gc
import importlib

import click

from distribute.errors import ConfigError, UserError

# name: ("module:attribute" under distribute.cli, the summary listed by --help)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("setup:init", "Create the database, or upgrade it to the current schema."),
    "demo": ("setup:demo", "Run the main job on the samples shipped with distribute."),
    "release": ("releases:release",
        "Press releases: add them from a file, preview and check them before sending."),
    "contacts": ("contacts:contacts", "Import and export journalists and supporters."),
    "lists": ("contacts:lists", "Static lists of contacts (made by `contacts import --list`)."),
    "segments": ("segments:segments_group", "Saved audiences: rules over contact fields, tags and lists."),
    "suppress": ("segments:suppress_command",
        "Put addresses on the suppression list: they will never be mailed again."),
    "suppressions": ("segments:suppressions_group",
        "The suppression list: addresses that are never mailed (add to it with `distribute suppress`)."),
    "send": ("campaigns:send", "Send a release to segments and lists, now or at a set time."),
    "run": ("campaigns:run",
        "Embedded mode: serve scheduled campaigns and retries until interrupted (Ctrl-C), with a line for "
        "each campaign that starts, waits for the relay, stops or finishes."),
    "campaigns": ("campaigns:campaigns", "List, inspect and control campaigns."),
    "stats": ("stats:stats",
        "How a campaign did: counts per state, send rate, domains, last errors; opens (human and machine "
        "apart), clicks per link, unsubscribes, complaints and bounces (`distribute stats ID`)."),
    "bounces": ("bounces:bounces", "Read bounces, delay warnings, auto-replies and complaints."),
    "purge": ("retention:purge",
        "Drop the raw tracking data (IP addresses, user agents, provider payloads) of events older than "
        "DISTRIBUTE_RETENTION_DAYS."),
    "serve": ("serve:serve",
        "Serve the public web app with gunicorn: open pixel, click redirect, unsubscribe and preferences, web"
        " versions of releases, ESP webhooks."),
    "staff": ("staff:staff", "Serve the staff web app and the JSON API with gunicorn."),
    "dkim": ("dkim:dkim", "DKIM signing keys and the DNS records a sending domain needs."),
    "users": ("users:users_group",
        "Staff who sign in to the web app: add them, set roles, hand over password links."),
    "tokens": ("users:tokens_group", "Bearer tokens for the JSON API (/api/v1)."),
    "audit": ("users:audit_command", "Who changed what, newest first."),
}


def summary(name: str, limit: int = 45) -> str:
    """The table's summary, shortened as click shortens a command's own help."""
    return click.Command(name, help=COMMANDS[name][1]).get_short_help_str(limit)


def load_command(name: str) -> click.Command:
    module, _, attribute = COMMANDS[name][0].partition(":")
    return getattr(importlib.import_module(f"distribute.cli.{module}"), attribute)


# Set by main() while it holds the garbage collector off the start-up; cli() resumes it.
_gc_paused = False


def _resume_gc() -> None:
    global _gc_paused
    if _gc_paused:
        _gc_paused = False
        gc.freeze()  # what is loaded so far lives as long as the process: out of the collector's reach
        gc.enable()


class _Group(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return load_command(name) if name in COMMANDS else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # The summaries from the table: listing them imports no command.
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, summary(name, limit)) for name in sorted(COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):
        # User-facing errors become click's "Error: …" line and exit status 1, never a traceback.
        try:
            return super().invoke(ctx)
        except UserError as exc:
            from distribute.cli.common import explain  # loaded already by the command that raised

            raise click.ClickException(explain(exc)) from exc
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="distribute")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Write, target, send and track press releases.

    Configuration comes from DISTRIBUTE_* environment variables (see the README); with none set,
    everything runs embedded: a SQLite file and a file outbox in the current directory.
    """
    from distribute.cli.common import App
    from distribute.config import load_settings

    try:
        ctx.obj = App(load_settings())
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        _resume_gc()  # the command's module (loaded first by click) and the settings are in
    ctx.call_on_close(ctx.obj.close)


def main(args: list[str] | None = None):
    """The `distribute` console script, a process of its own. Starting a command makes some 70,000
    objects that live as long as the process (SQLAlchemy, pydantic, the models): the cyclic garbage
    collector would walk them over and over while they are made, and all once more at exit, for
    about a fifth of the time of `distribute stats ID --json`. So it is paused until the command and the
    settings are loaded, they are then frozen out of its reach (gc.freeze; with them the few
    hundred objects importing leaves in cycles, a few kB), and everything is at exit. (In-process
    callers of `cli`, the tests, keep their collector as it is.)"""
    global _gc_paused
    gc.disable()
    _gc_paused = True
    atexit.register(gc.freeze)
    return cli.main(args)
