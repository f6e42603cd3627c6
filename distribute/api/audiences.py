"""The audiences endpoints. (Filled in by the audiences area; see distribute/api/__init__.py.)"""

from __future__ import annotations

from flask_smorest import Blueprint

blueprint = Blueprint("api_audiences", __name__, url_prefix="/api/v1/audiences", description="Audiences.")
