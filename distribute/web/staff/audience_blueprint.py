"""The audiences area's blueprint, apart from its views so that both view modules can add to it
without importing each other (contact_pages: contacts, imports, lists; segment_pages: segments
and the suppression list)."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("audiences", __name__, url_prefix="/audiences")
