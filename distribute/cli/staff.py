"""`distribute staff`: the staff web app (sign-in, releases, audiences, sends, results, admin) and
the JSON API under /api/v1."""

from __future__ import annotations

import click

from distribute.cli.common import App, console, err_console, pass_app, serving_options


@click.command()
@serving_options(port=8001)
@pass_app
def staff(app: App, host: str, port: int, workers: int, threads: int) -> None:
    """Serve the staff web app and the JSON API with gunicorn.

    Password-reset links point at DISTRIBUTE_STAFF_URL: set it to this app's address (https in
    production: the session cookie is then Secure). Keep it apart from the public app, e.g.
    behind a VPN or an SSO proxy; the links in messages need only `distribute serve`.
    """
    from distribute.cli import gunicorn_app
    from distribute.web.staff import create_app
    from distribute.web.staff.limits import storage_uri

    settings = app.settings
    settings.secret  # fail now, with the variable's name, rather than in every worker
    app.check_schema()  # created in the embedded mode, checked in production
    if workers > 1 and storage_uri(settings) == "memory://":
        err_console.print(f"note: without a Redis DISTRIBUTE_BROKER_URL each of the {workers} processes counts "
                          "failed sign-ins on its own (use --workers 1 to count them all together)")
    console.print(f"staff app on http://{host}:{port} (reset links use {settings.staff_url})")
    gunicorn_app.run(lambda: create_app(settings), host=host, port=port, workers=workers, threads=threads)


COMMANDS = [staff]
