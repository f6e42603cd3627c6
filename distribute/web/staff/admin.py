"""Admin pages: users, API tokens, the audit log, settings (read-only). Admins only: each service
call requires MANAGE, and a Forbidden becomes the 403 page."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("admin", __name__, url_prefix="/admin")
