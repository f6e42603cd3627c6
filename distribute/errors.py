"""Errors a person can act on. Every interface shows them without a traceback.

A domain error carries a `code` (stable, for scripts and the JSON API), a message in plain words
with no interface's syntax in it, and, where one input is at fault, the `field` it came from: the
CLI names its flag, a web form marks its field, the API returns it, each in its own words."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or a refused request; the message says where and why."""

    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.field = field
        if code:
            self.code = code

    def as_dict(self) -> dict:
        return {"code": self.code, "message": str(self), "field": self.field}


class NotFound(UserError):
    code = "not_found"


class Conflict(UserError):
    """The request is well formed but the state of things refuses it (already sent, in use …)."""

    code = "conflict"


class Forbidden(UserError):
    """The actor's role does not allow it."""

    code = "forbidden"


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the variable. (Here rather than in config,
    so that the CLI can catch it without importing the settings machinery at start.)"""
