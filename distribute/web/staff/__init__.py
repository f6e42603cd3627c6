"""The staff app: sign-in, the pages comms staff and admins work in, and the JSON API (/api/v1).

A Flask app of its own (`distribute staff`, port 8001), apart from the public app: it can sit
behind a VPN or an SSO proxy while the links in messages stay reachable, and its cookies and
content policy differ.

Conventions for an area (releases, audiences, sends, results, admin):
- **Blueprint**: one module per area in this package with `blueprint = Blueprint("<area>", __name__,
  url_prefix="/<area>")`, listed in AREAS below; its nav line is in nav.py (shown to the roles whose
  permission it names, once its endpoint exists).
- **Templates**: templates/staff/<area>/<page>.html, each `{% extends "staff/base.html" %}` with
  blocks `title` and `content`; form fields through the macros in templates/staff/_forms.html
  (a label on every input, the error beside it).
- **A view parses, calls ONE service, presents**: `with unit_of_work() as session:
  result = service.fn(session, current_actor(), …)` (state.py). The service checks the role; a
  Forbidden/NotFound/Conflict it raises becomes the 403/404/409 page (errors.py); catch a
  UserError only to show it beside its field: `forms.show_error(form, exc)`. No query in a view.
- **Sign-in is the default**: every endpoint needs a signed-in user except those in auth.PUBLIC,
  `static` and `healthz`; the API authenticates itself (bearer tokens).
- **CSRF**: every form is a Flask-WTF FlaskForm (`{{ form.hidden_tag() }}`) or carries
  `<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">`; a fetch() POST sends the
  X-CSRFToken header (static/staff.js `postJSON` does it). Every POST outside /api/ is checked.
- **Scripts and styles** are our own files in static/ (the policy allows nothing inline and no
  other host): `<script src="{{ url_for('static', filename='x.js') }}" defer>`.
- **API**: distribute/api/<area>.py, a flask-smorest Blueprint registered in distribute/api/__init__.py;
  each endpoint declares its permission with `@needs(READ|EDIT|SEND|…)` (api/auth.py), calls the
  service with `current_actor()`, returns the service's dict through a marshmallow schema.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from pathlib import Path

from flask import Flask, redirect, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from distribute.config import Settings, load_settings
from distribute.paths import TEMPLATES_DIR
from distribute.web.staff import admin, audiences, auth, errors, home, releases, results, sends
from distribute.web.staff.limits import limit_sign_in
from distribute.web.staff.nav import nav_for
from distribute.web.staff.signin import login_manager
from distribute.web.staff.state import StaffState

AREAS = (auth, home, admin, releases, audiences, sends, results)
OPEN_ENDPOINTS = auth.PUBLIC | {"static", "healthz"}

# Our own files only: no inline script or style, nothing from another host. frame-src 'self' for
# the release previews (same-origin iframes).
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; frame-src 'self'; font-src 'self'; form-action 'self'; "
                           "base-uri 'none'; frame-ancestors 'self'")


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    app = Flask(__name__, template_folder=str(TEMPLATES_DIR),
                static_folder=str(Path(__file__).with_name("static")), static_url_path="/static")
    staff = StaffState(settings)
    app.extensions["distribute_staff"] = staff
    _configure(app, settings, staff.secret)
    if settings.proxy_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops)

    csrf = CSRFProtect(app)
    login_manager().init_app(app)
    for area in AREAS:
        app.register_blueprint(area.blueprint)
    errors.register(app)
    limit_sign_in(app, settings, "auth.login")

    from distribute.api import init_api  # the API is served by this app (an allowed interface import)

    init_api(app, staff.sessions)

    @app.get("/healthz")
    def healthz():
        return {"ok": True}

    @app.before_request
    def guard():
        if request.path.startswith(errors.API_PREFIX):
            return None  # bearer tokens, no cookies: nothing to forge across sites
        if request.method == "POST":
            csrf.protect()
        if request.endpoint not in OPEN_ENDPOINTS and not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return None

    @app.context_processor
    def layout():
        signed_in = current_user.is_authenticated
        return {"actor": current_user.actor if signed_in else None,
                "nav": nav_for(current_user.actor) if signed_in else [],
                "organisation": settings.organisation}

    @app.after_request
    def headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    return app


def _configure(app: Flask, settings: Settings, secret: str) -> None:
    https = settings.staff_url.startswith("https://")
    # Its own key, derived from the one secret, so a session cookie is no link token and back.
    app.secret_key = hmac.new(secret.encode(), b"distribute staff sessions", hashlib.sha256).hexdigest()
    app.config.update(
        SESSION_COOKIE_NAME="distribute_staff", SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=https, PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        REMEMBER_COOKIE_SECURE=https, REMEMBER_COOKIE_HTTPONLY=True,
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in `guard`, which leaves /api/ out
        WTF_CSRF_TIME_LIMIT=None,  # valid for the session: a form left open over lunch still posts
        MAX_CONTENT_LENGTH=max(settings.max_request_bytes, 50 * 1024 * 1024),  # CSV uploads
        PREFERRED_URL_SCHEME="https" if https else "http",
    )
