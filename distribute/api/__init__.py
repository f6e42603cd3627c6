"""The JSON API, /api/v1, served by the staff app: the same services as the pages, for a CMS or a
script, with a bearer token (created by an admin, shown once, stored hashed, scoped to a role).

An area adds distribute/api/<area>.py with `blueprint = Blueprint("api_<area>", __name__,
url_prefix="/api/v1/<area>")` (flask_smorest.Blueprint), lists it in AREAS below, and gives each
endpoint `@needs(PERMISSION)` (auth.py): it documents the role in the OpenAPI document, refuses
a token whose role lacks it (403), and `current_actor()` is then the token's actor. The service
still checks the role itself: the decorator is the documentation and an early answer.

Errors are JSON: {"error": {"code", "message", "field"}}; a UserError's status is its kind's
(400, 403 Forbidden, 404 NotFound, 409 Conflict), an unknown or revoked token 401, a body that does
not match its schema 422 with "fields". The OpenAPI document is /api/v1/openapi.json and a page
reading it, /api/v1/docs, is served by the app itself (no CDN).
"""

from __future__ import annotations

from flask import Flask, render_template
from flask_smorest import Api
from sqlalchemy.orm import Session, sessionmaker

from distribute.api import audiences, auth, campaigns, releases

AREAS = (auth, releases, audiences, campaigns)
PREFIX = "/api/v1"


def init_api(app: Flask, sessions: sessionmaker[Session]) -> Api:
    app.config.update(
        API_TITLE="distribute", API_VERSION="v1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=PREFIX, OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": "Write, check, schedule and read press releases and their sends. "
                                    "Authenticate with `Authorization: Bearer dst_…` (an admin creates tokens)."},
            "security": [{"bearer": []}],
        },
    )
    api = Api(app)
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for area in AREAS:
        api.register_blueprint(area.blueprint)
    auth.install(app, sessions, {area.blueprint.name for area in AREAS})

    @app.get(f"{PREFIX}/docs")
    def api_docs():
        spec = api.spec.to_dict()
        return render_template("staff/api/docs.html", info=spec["info"], groups=operations(spec),
                               openapi_url=f"{PREFIX}/openapi.json", openapi_version=spec["openapi"])

    return api


def operations(spec: dict) -> list[tuple[dict, list[dict]]]:
    """The document's operations grouped by tag, for the docs page."""
    groups: dict[str, list[dict]] = {}
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            if method == "parameters":
                continue
            entry = {"method": method.upper(), "path": path, "permission": op.get("x-permission"),
                     "summary": op.get("summary") or (op.get("description") or "").split("\n")[0]}
            for tag in op.get("tags", ["Other"]):
                groups.setdefault(tag, []).append(entry)
    described = {t["name"]: t.get("description", "") for t in spec.get("tags", [])}
    return [({"title": tag.removeprefix("api_").capitalize(), "description": described.get(tag, "")}, ops)
            for tag, ops in sorted(groups.items())]
