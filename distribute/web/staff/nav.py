"""The navigation: one line per area, shown to the roles that may use it.

An entry whose endpoint is not registered (an area not built yet) is left out, so an area adds
its blueprint and its line here and nothing else changes."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request

from distribute.services.actor import MANAGE, READ, Actor


@dataclass(frozen=True)
class Entry:
    label: str
    endpoint: str
    permission: str
    prefix: str  # the paths that mark this entry as the current page


NAV = (
    Entry("Dashboard", "home.dashboard", READ, "/"),
    Entry("Releases", "releases.index", READ, "/releases"),
    Entry("Contacts", "audiences.contacts", READ, "/audiences"),
    Entry("Sends", "sends.index", READ, "/sends"),
    Entry("Results", "results.overview", READ, "/results"),
    Entry("Users", "admin.users", MANAGE, "/admin/users"),
    Entry("API tokens", "admin.tokens", MANAGE, "/admin/tokens"),
    Entry("Audit log", "admin.audit", MANAGE, "/admin/audit"),
    Entry("Settings", "admin.settings", MANAGE, "/admin/settings"),
)


def nav_for(actor: Actor) -> list[tuple[Entry, bool]]:
    """(entry, is it the current page) for what this actor may open."""
    shown = [e for e in NAV if e.endpoint in current_app.view_functions and actor.may(e.permission)]
    path = request.path
    current = max((e for e in shown if path == e.prefix or path.startswith(e.prefix.rstrip("/") + "/")),
                  key=lambda e: len(e.prefix), default=None)
    return [(e, e is current) for e in shown]
