"""A browser session and the Actor behind it.

The session cookie (signed by Flask) holds the user's id and the `session_epoch` it was opened
at, and every request asks users.session_is_current: signing out everywhere, a password change, a
role change or a deactivation bumps the epoch, and every open session ends on its next request.
"""

from __future__ import annotations

from flask_login import LoginManager, UserMixin

from distribute.services import users
from distribute.services.actor import Actor
from distribute.web.staff.state import state


class SignedIn(UserMixin):
    def __init__(self, actor: Actor, epoch: int):
        self.actor, self.epoch = actor, epoch

    def get_id(self) -> str:
        return f"{self.actor.user_id}:{self.epoch}"


def _load(session_id: str) -> SignedIn | None:
    try:
        user_id, epoch = (int(part) for part in session_id.split(":"))
    except ValueError:
        return None
    with state().sessions.begin() as session:
        actor = users.session_is_current(session, user_id, epoch)
    return SignedIn(actor, epoch) if actor else None


def login_manager() -> LoginManager:
    manager = LoginManager()
    manager.user_loader(_load)
    manager.login_view = "auth.login"
    manager.login_message = "Sign in to continue."
    manager.login_message_category = "info"
    return manager
