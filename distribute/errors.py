"""Errors a user can act on. The CLI prints them as they are, without a traceback."""


class UserError(Exception):
    """Bad input or a refused request; the message says where and why."""
