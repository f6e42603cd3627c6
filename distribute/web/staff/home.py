"""The dashboard: where a signed-in person lands."""

from __future__ import annotations

from flask import Blueprint, render_template

from distribute.web.staff.state import current_actor

blueprint = Blueprint("home", __name__)


@blueprint.get("/")
def dashboard():
    return render_template("staff/home.html", actor=current_actor())
