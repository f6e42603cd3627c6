"""Who is acting, and what each role may do: one table, checked by every service.

The CLI acts as the local operator (whoever can run it on the machine holds the database and the
secret anyway); the staff app and the API act as the signed-in user or the token's role."""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from distribute.errors import Forbidden, UserError

VIEWER, COMMS, ADMIN = "viewer", "comms", "admin"
ROLES = (VIEWER, COMMS, ADMIN)  # in rising order: a token's role is never above its user's

READ = "read"            # releases, contacts, segments, campaigns, stats
EDIT = "edit"            # write releases, contacts, lists, segments
SEND = "send"            # start, schedule, pause, resume, cancel campaigns; test sends
SUPPRESS = "suppress"    # the suppression list
MANAGE = "manage"        # users, roles, API tokens, settings, the audit log

PERMISSIONS: dict[str, frozenset[str]] = {
    VIEWER: frozenset({READ}),
    COMMS: frozenset({READ, EDIT, SEND}),
    ADMIN: frozenset({READ, EDIT, SEND, SUPPRESS, MANAGE}),
}
assert set(PERMISSIONS) == set(ROLES)

_DOING = {READ: "read this", EDIT: "make changes", SEND: "send or change sends",
          SUPPRESS: "change the suppression list", MANAGE: "manage users, tokens and settings"}


@dataclass(frozen=True)
class Actor:
    name: str                   # as the audit log names them: an email, or "operator:alice"
    role: str
    user_id: int | None = None  # None for the local operator
    via: str = "cli"            # cli | web | api | worker

    def may(self, permission: str) -> bool:
        return permission in PERMISSIONS[self.role]


def operator() -> Actor:
    """The CLI's actor: the account running it, with every permission."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        who = "unknown"
    return Actor(f"operator:{who}", ADMIN)


SYSTEM = Actor("system", ADMIN, via="worker")  # scheduled work: beat starting a campaign, the recount


def require(actor: Actor, permission: str) -> None:
    if not actor.may(permission):
        raise Forbidden(f"the {actor.role} role cannot {_DOING[permission]}")


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: one of {', '.join(ROLES)}", field="role")
    return role
