"""The sign-in rate limit, counted in one place for every web process.

Failed sign-ins are counted per client address and per account (the email tried), in Redis when
DISTRIBUTE_BROKER_URL names a Redis server (the one every process already reaches), so that N
gunicorn workers or N containers do not each grant the whole allowance; in memory in the
embedded mode, where one process serves. Only failures count: an office behind one address signs
in all morning, and a guesser is stopped whichever address they come from.
"""

from __future__ import annotations

from flask import Flask, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from distribute.config import Settings

PER_ACCOUNT = "5 per 15 minutes"
PER_ADDRESS = "30 per 15 minutes"


def storage_uri(settings: Settings) -> str:
    broker = settings.broker_url or ""
    return broker if broker.startswith(("redis://", "rediss://")) else "memory://"


def _account() -> str:
    return "account:" + request.form.get("email", "").strip().lower()[:320]


def _failed(_response) -> bool:
    return bool(g.get("sign_in_failed"))


def limit_sign_in(app: Flask, settings: Settings, endpoint: str) -> Limiter:
    """A limiter of this app's own (two apps in one process count apart unless their storage is
    shared), applied to the POSTs of `endpoint`; a view marks a failure with g.sign_in_failed."""
    # Redis unreachable: count in this process rather than refuse every sign-in (or admit unlimited
    # guesses) until it is back.
    limiter = Limiter(get_remote_address, app=app, storage_uri=storage_uri(settings),
                      key_prefix="distribute-staff", strategy="moving-window", in_memory_fallback_enabled=True)
    # Flask-Limiter checks a decorated limit when the wrapped view runs: this app's view becomes the
    # wrapped one (the module's function stays as it was, for any other app).
    view = app.view_functions[endpoint]
    view = limiter.limit(PER_ADDRESS, methods=["POST"], deduct_when=_failed, scope="sign-in-address")(view)
    view = limiter.limit(PER_ACCOUNT, key_func=_account, methods=["POST"], deduct_when=_failed,
                         scope="sign-in-account")(view)
    app.view_functions[endpoint] = view
    return limiter
