"""The releases endpoints. (Filled in by the releases area; see distribute/api/__init__.py.)"""

from __future__ import annotations

from flask_smorest import Blueprint

blueprint = Blueprint("api_releases", __name__, url_prefix="/api/v1/releases", description="Releases.")
