"""What the public views share, made once per process by create_app (distribute.web.app), and
how a view reaches it."""

from __future__ import annotations

from flask import current_app

from distribute.config import Settings
from distribute.db import make_engine, make_sessionmaker
from distribute.feedback.webhooks.registry import webhook_secrets
from distribute.signing import Tokens
from distribute.web.public.buffer import EventBuffer
from distribute.web.public.replay import token_store


class WebState:
    """What the views share, made once per process by create_app."""

    def __init__(self, settings: Settings, *, buffered: bool = True):
        self.settings = settings
        # Fail at start, not on the first click: in production the secret must be set.
        self.tokens = Tokens(settings.secret)
        self.engine = make_engine(settings.database_url)
        self.sessions = make_sessionmaker(self.engine)
        self.events = EventBuffer(self.sessions, settings)
        if buffered:
            self.events.start()
        self.links: dict[str, tuple[str, ...]] = {}  # campaign ref -> its tracked links (never change)
        self.webhook_secrets = webhook_secrets(settings)
        self.webhook_tokens = token_store(settings, self.sessions)  # Mailgun's, shared by every process


def state() -> WebState:
    """The app's WebState, inside a request."""
    return current_app.extensions["distribute"]
