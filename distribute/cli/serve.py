"""`distribute serve`: the public web app (tracking, unsubscribe, web versions, webhooks)."""

from __future__ import annotations

import click

from distribute.cli.common import App, console, pass_app, serving_options


@click.command()
@serving_options(port=8000)
@pass_app
def serve(app: App, host: str, port: int, workers: int, threads: int) -> None:
    """Serve the public web app with gunicorn: open pixel, click redirect, unsubscribe and
    preferences, web versions of releases, ESP webhooks.

    Links in messages point at DISTRIBUTE_BASE_URL: set it to this app's public address.
    """
    from distribute.cli import gunicorn_app
    from distribute.web import create_app

    settings = app.settings
    settings.secret  # fail now, with the variable's name, rather than in every worker
    app.check_schema()  # created in the embedded mode, checked in production
    console.print(f"serving on http://{host}:{port} (links in messages use {settings.base_url})")
    gunicorn_app.run(lambda: create_app(settings), host=host, port=port, workers=workers, threads=threads)


COMMANDS = [serve]
