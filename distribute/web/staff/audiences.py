"""Audiences: contacts, lists, segments, the suppression list. (Filled in by the audiences area.)"""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("audiences", __name__, url_prefix="/audiences")
