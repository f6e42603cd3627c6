"""The public web app: open pixel, click redirect, unsubscribe and preferences, the web version
of each release, and ESP webhooks. None of it needs a login: every link carries a signed token.

Flask, because everything behind it is synchronous (SQLAlchemy sessions, the same code the
workers run), its Jinja2 is the one the emails are rendered with, and gunicorn serves it in
production; an async framework would only add a thread pool in front of the same calls.
"""

from __future__ import annotations

import atexit
import logging

from flask import Flask, abort, render_template, request
from werkzeug.middleware.proxy_fix import ProxyFix

from distribute.config import Settings, load_settings
from distribute.paths import TEMPLATES_DIR
from distribute.web.public.hot_paths import HotPaths
from distribute.web.public.state import WebState

log = logging.getLogger(__name__)


# Exactly what the pages (templates/web/) use: no script at all, their own inline <style> and a
# style attribute (hence 'unsafe-inline' for styles only), images a release body may link
# (Markdown images: https, or data: as markdown-it allows), and forms posted to this app.
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "
                           "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


def create_app(settings: Settings | None = None, *, buffered: bool = True) -> Flask:
    settings = settings or load_settings()
    app = Flask(__name__, template_folder=str(TEMPLATES_DIR), static_folder=None)
    # Werkzeug would answer "/c//x" or "/c/x/" with a redirect to a cleaned path; every Location
    # this app sends must be a link a campaign signed, so such paths are plain 404s.
    app.url_map.merge_slashes = False
    app.url_map.strict_slashes = False
    # Werkzeug refuses a larger Content-Length at once (413), so nothing reads 200 MB into memory
    # before a webhook's signature is even looked at; a body without one, see below.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    state = WebState(settings, buffered=buffered)
    app.extensions["distribute"] = state
    atexit.register(state.events.stop)  # write what is queued when the process ends
    headers = security_headers(settings)
    app.wsgi_app = HotPaths(app.wsgi_app, state, headers)  # the pixel and the redirect, before Flask
    if settings.proxy_hops:
        # The client's address and scheme as the trusted proxies in front saw them; never more
        # hops than are really there, or a client could write its own X-Forwarded-For.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops)

    from distribute.web.public import newsroom, pages, tracking_views, webhook_views

    app.register_blueprint(tracking_views.blueprint)
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(webhook_views.blueprint)
    app.register_blueprint(newsroom.blueprint)

    @app.errorhandler(404)
    def not_found(_error):
        return render_template("web/not_found.html", organisation=settings.organisation,
                               postal_address=settings.postal_address), 404

    @app.errorhandler(413)
    def too_large(_error):
        return f"Request body too large: the limit is {settings.max_request_bytes} bytes.\n", 413, {
            "Content-Type": "text/plain; charset=utf-8"}

    @app.before_request
    def no_nul_in_path():
        # No link of ours has a NUL ("/releases/%00"), and PostgreSQL refuses one in a string
        # parameter (a 500): such a path is not found, before any view queries with it.
        if "\x00" in request.path:
            abort(404)

    @app.before_request
    def cap_chunked_body():
        # A chunked body has no Content-Length: Werkzeug stops reading it at the limit (gunicorn
        # sets wsgi.input_terminated) but would hand on what it read as if it were all of it.
        # Read it here; one that reaches the limit is a 413, like one that declares more.
        if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
            if len(request.get_data()) >= settings.max_request_bytes:
                abort(413)

    @app.get("/healthz")
    def health():
        return {"ok": True}

    @app.after_request
    def add_headers(response):
        for name, value in headers:
            response.headers.setdefault(name, value)
        return response

    return app


def security_headers(settings: Settings) -> list[tuple[str, str]]:
    """What every answer carries unless it says otherwise."""
    # Nothing here is meant to be framed, cached by a proxy, or to leak the token onward.
    headers = [("Referrer-Policy", "no-referrer"), ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
               ("Cache-Control", "no-store"), ("Content-Security-Policy", CONTENT_SECURITY_POLICY)]
    if settings.base_url.startswith("https://"):  # browsers keep to https for this host from then on
        headers.append(("Strict-Transport-Security", "max-age=31536000"))
    return headers
