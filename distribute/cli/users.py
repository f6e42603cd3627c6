"""`distribute users …`, `distribute tokens …` and `distribute audit`: who may use the staff app and
the API, and what was changed by whom. The CLI acts as the local operator."""

from __future__ import annotations

import sys

import click
from rich.table import Table

from distribute.cli.common import App, console, json_option, pass_app, print_json
from distribute.services import audit, users
from distribute.services.actor import ROLES, operator


@click.group("users")
def users_group() -> None:
    """Staff who sign in to the web app: add them, set roles, hand over password links."""


def _reset_link(app: App, email: str) -> str:
    with app.session() as session:
        token = users.reset_token(session, operator(), email, app.settings.secret)
    return f"{app.settings.staff_url}/reset/{token}"


@users_group.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True,
              help="admin: everything; comms: releases, contacts, segments, sends; viewer: reads only.")
@click.option("--name", default="", help="The name shown in the app and the audit log.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@json_option
@pass_app
def add(app: App, email: str, role: str, name: str, password_stdin: bool, as_json: bool) -> None:
    """Add a user. Without --password-stdin, prints a link where they set their own password
    (hand it over; it works once, for 3 days)."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    with app.session() as session:
        user = users.add_user(session, operator(), email, role=role, name=name, password=password)
    link = None if password_stdin else _reset_link(app, user["email"])
    if as_json:
        print_json(user | {"password_link": link})
        return
    console.print(f"added {user['email']} ({user['role']})")
    if link:
        console.print(f"they set their password at: {link}", soft_wrap=True)


@users_group.command("list")
@json_option
@pass_app
def list_(app: App, as_json: bool) -> None:
    """Every user, with role and last sign-in."""
    with app.session() as session:
        rows = users.list_users(session, operator())
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no users yet: distribute users add EMAIL --role admin")
        return
    table = Table("email", "name", "role", "active", "last sign-in")
    for u in rows:
        table.add_row(u["email"], u["name"], u["role"], "yes" if u["active"] else "no",
                      (u["last_login_at"] or "never")[:16])
    console.print(table)


@users_group.command("role")
@click.argument("email")
@click.argument("role", type=click.Choice(ROLES))
@pass_app
def role(app: App, email: str, role: str) -> None:
    """Change a user's role; their open sessions end, and tokens above the new role are revoked."""
    with app.session() as session:
        user = users.set_role(session, operator(), email, role)
    console.print(f"{user['email']} is now {user['role']}")


@users_group.command("reset")
@click.argument("email")
@pass_app
def reset(app: App, email: str) -> None:
    """Print a link where the user sets a new password (it works once, for 3 days)."""
    console.print(_reset_link(app, email), soft_wrap=True)


@users_group.command("remove")
@click.argument("email")
@pass_app
def remove(app: App, email: str) -> None:
    """Deactivate a user: they can no longer sign in and their tokens stop working. The audit log
    keeps their name."""
    with app.session() as session:
        user = users.deactivate(session, operator(), email)
    console.print(f"{user['email']} deactivated")


@click.group("tokens")
def tokens_group() -> None:
    """Bearer tokens for the JSON API (/api/v1)."""


@tokens_group.command("create")
@click.argument("email")
@click.option("--name", required=True, help="What uses the token (\"website CMS\").")
@click.option("--role", type=click.Choice(ROLES), help="At most the user's role (the default).")
@json_option
@pass_app
def create(app: App, email: str, name: str, role: str | None, as_json: bool) -> None:
    """Create a token acting as EMAIL. It is printed once: only its hash is kept."""
    with app.session() as session:
        plain, token = users.create_token(session, operator(), email, name, role)
    if as_json:
        print_json(token | {"token": plain})
        return
    console.print(f"token {token['id']} ({token['role']}) for {token['user']}: shown once, keep it now")
    click.echo(plain)


@tokens_group.command("list")
@json_option
@pass_app
def tokens_list(app: App, as_json: bool) -> None:
    """Every token, revoked ones included."""
    with app.session() as session:
        rows = users.list_tokens(session, operator())
    if as_json:
        print_json(rows)
        return
    table = Table("id", "user", "name", "role", "starts", "last used", "revoked")
    for t in rows:
        table.add_row(str(t["id"]), t["user"], t["name"], t["role"], t["prefix"] + "…",
                      (t["last_used_at"] or "never")[:16], (t["revoked_at"] or "")[:16])
    console.print(table)


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
@pass_app
def revoke(app: App, token_id: int) -> None:
    """Revoke a token at once."""
    with app.session() as session:
        token = users.revoke_token(session, operator(), token_id)
    console.print(f"token {token['id']} ({token['name']}) revoked")


@click.command("audit")
@click.option("--limit", default=50, show_default=True, help="How many entries, newest first.")
@click.option("--action", help="Only actions starting with this (release, user.role …).")
@json_option
@pass_app
def audit_command(app: App, limit: int, action: str | None, as_json: bool) -> None:
    """Who changed what, newest first."""
    with app.session() as session:
        rows = audit.entries(session, operator(), limit=limit, action=action)
    if as_json:
        print_json(rows)
        return
    table = Table("at", "who", "via", "action", "target")
    for e in rows:
        table.add_row(e["at"][:19], e["actor"], e["via"], e["action"], e["target"] or "")
    console.print(table)


COMMANDS = [users_group, tokens_group, audit_command]
