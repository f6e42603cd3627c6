"""Sends: choose, confirm and schedule a campaign; watch it live. (Filled in by the sends area.)"""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("sends", __name__, url_prefix="/sends")
