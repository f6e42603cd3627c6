"""Error pages for people, JSON for the API: one handler per status, chosen by the path.

A domain error a view did not catch (distribute.errors) becomes its status here: Forbidden 403,
NotFound 404, Conflict 409, any other UserError 400; the API answers
{"error": {"code", "message", "field"}} with the same status."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from distribute.errors import Conflict, Forbidden, NotFound, UserError

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
STATUS = {Forbidden: 403, NotFound: 404, Conflict: 409, UserError: 400}
_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
          409: "conflict", 413: "too_large", 422: "invalid", 429: "too_many_requests", 500: "server_error"}
_TITLES = {400: "Bad request", 401: "Sign in first", 403: "Not allowed", 404: "Not found",
           405: "Not allowed here", 409: "Conflict", 413: "Too large", 422: "Invalid input",
           429: "Too many attempts", 500: "Something went wrong"}


def status_of(error: UserError) -> int:
    """An error class may name its own status (the API's Unauthorized: 401)."""
    return getattr(error, "status", None) or next(status for cls, status in STATUS.items() if isinstance(error, cls))


def respond(status: int, code: str, message: str, field: str | None = None, **extra):
    if request.path.startswith(API_PREFIX):
        return jsonify({"error": {"code": code, "message": message, "field": field, **extra}}), status
    return render_template("staff/error.html", status=status, title=_TITLES.get(status, "Error"),
                           message=message), status


def _http(error: HTTPException):
    if isinstance(error, CSRFError):
        return respond(400, "csrf", "The form had expired or did not come from this site: go back, "
                                    "reload the page and try again.")
    if error.code == 422 and request.path.startswith(API_PREFIX):
        # flask-smorest's validation failure: marshmallow's messages per field
        messages = (getattr(error, "data", None) or {}).get("messages", {})
        fields = {k: v for location in messages.values() for k, v in location.items()} if messages else {}
        first = next(iter(fields), None)
        text = f"{first}: {' '.join(map(str, fields[first]))}" if first else error.description
        return respond(422, "invalid", text, first, fields=fields)
    if error.code == 429:
        return respond(429, "too_many_requests", f"Too many failed attempts ({error.description}): "
                                                 "wait a few minutes, then try again.")
    return respond(error.code or 500, _CODES.get(error.code, "error"), error.description or "")


def _domain(error: UserError):
    # as_dict: code, message, field, and what an error adds (a rule's line and column, a release file's line and reason)
    response, status = respond(status_of(error), **error.as_dict())
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="distribute"'
    return response, status


def _crash(error: Exception):
    log.exception("unhandled error on %s %s", request.method, request.path)
    return respond(500, "server_error", "The server failed to answer; the error is logged.")


def register(app: Flask) -> None:
    for status in (400, 401, 403, 404, 405, 409, 413, 422, 429):
        app.register_error_handler(status, _http)
    app.register_error_handler(CSRFError, _http)
    app.register_error_handler(UserError, _domain)
    app.register_error_handler(500, _crash)
