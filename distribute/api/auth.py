"""Bearer tokens: who an API request acts as, and the permission each endpoint needs.

Every request to an API blueprint carries `Authorization: Bearer dst_…`; the token is looked up
by its SHA-256 (services.users.actor_for_token), and a missing, unknown or revoked one is a 401
before any view runs. The OpenAPI document is the one thing readable without a token."""

from __future__ import annotations

import functools

from flask import Flask, current_app, g, request
from flask_smorest import Blueprint
from sqlalchemy.orm import Session, sessionmaker

from distribute.errors import UserError
from distribute.services import users
from distribute.services.actor import PERMISSIONS, READ, Actor, require

blueprint = Blueprint("api_auth", __name__, url_prefix="/api/v1", description="Who the token acts as.")


class Unauthorized(UserError):
    code = "unauthorized"
    status = 401


def current_actor() -> Actor:
    return g.api_actor


def sessions() -> sessionmaker[Session]:
    return current_app.extensions["distribute_api"]


def _roles_with(permission: str) -> str:
    return ", ".join(role for role, allowed in PERMISSIONS.items() if permission in allowed)


def needs(permission: str):
    """The permission an endpoint needs: checked before the view, written in its documentation."""
    def decorate(view):
        @functools.wraps(view)
        def checked(*args, **kwargs):
            require(current_actor(), permission)
            return view(*args, **kwargs)

        return Blueprint.doc(**{"x-permission": permission,
                                "description": f"Needs the `{permission}` permission "
                                               f"(roles: {_roles_with(permission)})."})(checked)

    return decorate


def _authenticate():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send the API token as `Authorization: Bearer dst_…`")
    with sessions().begin() as session:
        actor = users.actor_for_token(session, token.strip())
    if actor is None:
        raise Unauthorized("this token is unknown or revoked")
    g.api_actor = actor


def install(app: Flask, session_maker: sessionmaker[Session], blueprints: set[str]) -> None:
    app.extensions["distribute_api"] = session_maker

    @app.before_request
    def authenticate():
        if request.blueprint in blueprints:
            _authenticate()


@blueprint.get("/me")
@needs(READ)
def me():
    """The user and role this token acts as."""
    actor = current_actor()
    return {"name": actor.name, "role": actor.role, "user_id": actor.user_id}
