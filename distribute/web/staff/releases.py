"""Releases: list, write and edit, check, preview, test send. (Filled in by the releases area.)"""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("releases", __name__, url_prefix="/releases")
