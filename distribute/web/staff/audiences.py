"""Audiences: contacts, CSV imports, lists, segments, the suppression list.

The views are in contact_pages.py and segment_pages.py; importing them here adds their routes to
the one blueprint the app registers."""

from __future__ import annotations

from distribute.web.staff import contact_pages, segment_pages  # noqa: F401 - their routes join the blueprint
from distribute.web.staff.audience_blueprint import blueprint

__all__ = ["blueprint"]
