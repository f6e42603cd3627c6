"""The campaigns endpoints. (Filled in by the campaigns area; see distribute/api/__init__.py.)"""

from __future__ import annotations

from flask_smorest import Blueprint

blueprint = Blueprint("api_campaigns", __name__, url_prefix="/api/v1/campaigns", description="Campaigns.")
