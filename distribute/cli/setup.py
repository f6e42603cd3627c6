"""`distribute init`: create or upgrade the database."""

from __future__ import annotations

import click

from distribute.cli.common import App, console, pass_app
from distribute.db import upgrade


@click.command()
@pass_app
def init(app: App) -> None:
    """Create the database, or upgrade it to the current schema."""
    upgrade(app.engine)
    console.print(f"database ready: {app.engine.url.render_as_string(hide_password=True)}")


COMMANDS = [init]
