"""Results: one campaign's funnel, chart and tables; the overview. (Filled in by the results area.)"""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("results", __name__, url_prefix="/results")
