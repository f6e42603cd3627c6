"""The settings as an admin may read them: every DISTRIBUTE_* variable with its value, secrets
masked, and whether it was set or is the default. Changing them is the deployment's business
(environment variables), never the app's: a web form that rewrote the secret key would be a way
to forge every link."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from distribute.config import ENV_PREFIX, Settings
from distribute.services.actor import MANAGE, Actor, require

MASK = "••••••••"
# Values that are secrets whole; URLs keep all but their password.
SECRET_FIELDS = frozenset({"secret_key", "mailgun_signing_key", "postmark_password", "dkim_private_key"})
URL_FIELDS = frozenset({"database_url", "broker_url", "smtp_url", "bounce_mailbox"})


def _masked_url(value: str) -> str:
    try:
        url = make_url(value)
    except ArgumentError:
        return MASK if "@" in value else value  # a path (a Maildir), or something with a credential in it
    return url.render_as_string(hide_password=True).replace(":***@", f":{MASK}@", 1) if url.password else value


def _shown(name: str, value: Any) -> str:
    if value is None:
        return ""
    if name in SECRET_FIELDS:
        return MASK
    if name in URL_FIELDS:
        return _masked_url(str(value))
    return str(value)


def describe(actor: Actor, settings: Settings) -> list[dict[str, Any]]:
    """[{"name": "DISTRIBUTE_…", "value": shown, "set": given in the environment, "secret": masked}]."""
    require(actor, MANAGE)
    given = settings.model_fields_set
    return [{"name": ENV_PREFIX + name.upper(), "value": _shown(name, getattr(settings, name)),
             "set": name in given, "secret": name in SECRET_FIELDS and getattr(settings, name) is not None}
            for name in sorted(type(settings).model_fields)]
