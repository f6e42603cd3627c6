"""What the staff views share, made once per process by create_app, and how a view reaches it:
the settings, the database sessions, and who is signed in."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from flask import current_app
from flask_login import current_user
from sqlalchemy.orm import Session

from distribute.config import Settings
from distribute.db import make_engine, make_sessionmaker
from distribute.services.actor import Actor


class StaffState:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.secret = settings.secret  # fail at start, naming the variable, not on the first sign-in
        self.engine = make_engine(settings.database_url)
        self.sessions = make_sessionmaker(self.engine)


def state() -> StaffState:
    """The app's StaffState, inside a request."""
    return current_app.extensions["distribute_staff"]


def current_actor() -> Actor:
    """The signed-in user as the services know them (every staff view but sign-in has one)."""
    return current_user.actor


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """One transaction around a service call: committed when the block ends normally, rolled
    back when it raises (a UserError included), so a refused change leaves nothing behind."""
    with state().sessions.begin() as session:
        yield session
