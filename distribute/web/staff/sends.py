"""Sends: the campaigns list; a send form → a confirmation naming the exact number of recipients
(the numbers of `send --dry-run`) → the campaign; its page, updated live by static/sends.js from
live.json, with pause, resume and cancel for those who may send."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for

from distribute.errors import UserError
from distribute.services import campaigns as sends
from distribute.services.actor import SEND
from distribute.web.staff.forms import show_error
from distribute.web.staff.send_form import FIELDS, SendForm
from distribute.web.staff.state import current_actor, state, unit_of_work

blueprint = Blueprint("sends", __name__, url_prefix="/sends")
PAGE = 50


@blueprint.get("/")
def index():
    before = request.args.get("before", type=int)
    with unit_of_work() as session:
        rows = sends.list_campaigns(session, current_actor(), limit=PAGE + 1, before=before)
    return render_template("staff/sends/index.html", campaigns=rows[:PAGE], describe=sends.describe_audience,
                           older=rows[PAGE - 1]["id"] if len(rows) > PAGE else None,
                           may_send=current_actor().may(SEND))


@blueprint.route("/new", methods=["GET", "POST"])
def new():
    settings = state().settings
    with unit_of_work() as session:
        options = sends.send_options(session, current_actor(), settings)
    form = SendForm().offer(options)
    if request.method == "GET":
        form.track.data = options["track_default"]
        if request.args.get("release") in {c.value for c in form.release.choices}:
            form.release.data = request.args["release"]
    elif form.validate():
        try:
            return _review_or_create(form, settings)
        except UserError as error:
            form.step.data = "review"
            show_error(form, error, FIELDS)
    # A POST that ends here was refused: the errors are beside their fields.
    return render_template("staff/sends/new.html", form=form, options=options), 422 if request.method == "POST" else 200


def _review_or_create(form: SendForm, settings):
    actor = current_actor()
    wanted = form.request()
    if form.step.data != "confirm":
        with unit_of_work() as session:
            counts = sends.dry_run(session, actor, form.release.data, wanted["targets"])
        form.step.data = "confirm"
        release = {c.value: c.label for c in form.release.choices}[form.release.data]
        return render_template("staff/sends/confirm.html", form=form, counts=counts, release=release,
                               wanted=wanted, zone=settings.timezone)
    with unit_of_work() as session:
        created = sends.create(session, actor, form.release.data, zone=settings.zone, **wanted)
    if created["due"] and settings.broker_url:
        sends.start(actor, settings, [created["id"]])  # after the commit: the workers can see it
    flash(f"Campaign {created['id']} created: " + ("sending now." if created["due"] else
                                                   f"scheduled for {created['scheduled_at'][:16]} UTC."), "success")
    return redirect(url_for("sends.campaign", campaign_id=created["id"]))


@blueprint.get("/<int:campaign_id>")
def campaign(campaign_id: int):
    with unit_of_work() as session:
        now = sends.live(session, current_actor(), campaign_id)
    return render_template("staff/sends/campaign.html", live=now)


@blueprint.get("/<int:campaign_id>/live.json")
def live(campaign_id: int):
    with unit_of_work() as session:
        return jsonify(sends.live(session, current_actor(), campaign_id))


_CONTROLS = {"pause": sends.pause, "resume": sends.resume, "cancel": sends.cancel}


@blueprint.post("/<int:campaign_id>/<action>")
def control(campaign_id: int, action: str):
    if action not in _CONTROLS:
        abort(404)
    with unit_of_work() as session:
        result = _CONTROLS[action](session, current_actor(), campaign_id)
    done = {"pause": "paused", "resume": "resumed", "cancel": "cancelled"}[action]
    if request.accept_mimetypes.best == "application/json":
        return jsonify(result)
    flash(f"Campaign {campaign_id} {done}.", "success")
    return redirect(url_for("sends.campaign", campaign_id=campaign_id))
