"""The `distribute` command."""

from __future__ import annotations

import click

from distribute.cli.common import App, explain
from distribute.config import ConfigError, load_settings
from distribute.errors import UserError


class _Group(click.Group):
    def invoke(self, ctx: click.Context):
        # User-facing errors become click's "Error: …" line and exit status 1, never a traceback.
        try:
            return super().invoke(ctx)
        except UserError as exc:
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
    try:
        ctx.obj = App(load_settings())
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    ctx.call_on_close(ctx.obj.close)


def _register() -> None:
    from distribute.cli import bounces, campaigns, contacts, dkim, releases, retention, segments, serve, setup, users

    for module in (setup, releases, contacts, segments, campaigns, bounces, retention, serve, dkim, users):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()
main = cli
