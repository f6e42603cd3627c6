"""The campaigns endpoints: list, create or schedule (with `dry_run` for the confirmation numbers
first), read, pause / resume / cancel, stats, and recipients a page at a time."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from distribute.api.auth import current_actor, needs, sessions
from distribute.services import campaigns as sends
from distribute.services import stats
from distribute.services.actor import READ, SEND

blueprint = Blueprint("api_campaigns", __name__, url_prefix="/api/v1/campaigns", description="Campaigns.")


def _settings():
    # The staff app's settings (the API is served by it): the time zone a local time is read in,
    # and whether workers take campaigns from a broker.
    return current_app.extensions["distribute_staff"].settings


class ListQuery(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 500))
    before = fields.Integer(load_default=None, metadata={"description": "a campaign id: the page older than it"})


class CreateBody(Schema):
    release = fields.String(required=True, metadata={"description": "the release's id or slug"})
    targets = fields.List(fields.String(), load_default=list,
                          metadata={"description": "segment or list names; segment:NAME / list:NAME when both exist"})
    variant = fields.String(load_default="journalist", validate=validate.OneOf(("journalist", "supporter")))
    at = fields.String(load_default=None, metadata={"description": "ISO time with a zone, or a local time in "
                                                                   "the configured zone; none: now"})
    at_embargo = fields.Boolean(load_default=False, metadata={"description": "send when the embargo lifts"})
    test = fields.List(fields.Email(), load_default=list, metadata={"description": "only these addresses, as a test"})
    again = fields.Boolean(load_default=False, metadata={"description": "mail addresses that already have it"})
    track = fields.Boolean(load_default=None, metadata={"description": "count opens and clicks (default: settings)"})
    dry_run = fields.Boolean(load_default=False, metadata={"description": "only the confirmation numbers"})


class RecipientsQuery(Schema):
    q = fields.String(load_default="", metadata={"description": "the start of the address"})
    state = fields.String(load_default=None)
    after = fields.Integer(load_default=None, metadata={"description": "`next_after` of the previous page"})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class StatsQuery(Schema):
    recipients = fields.Integer(load_default=200, validate=validate.Range(0, 1000),
                                metadata={"description": "recipients with feedback or failures to list"})


@blueprint.get("")
@needs(READ)
@blueprint.arguments(ListQuery, location="query")
def list_campaigns(query):
    """The campaigns, newest first."""
    with sessions().begin() as session:
        return {"campaigns": sends.list_campaigns(session, current_actor(), **query)}


@blueprint.post("")
@needs(READ)
@blueprint.arguments(CreateBody)
def create(body):
    """Create a campaign, due now or scheduled (`at`, `at_embargo`). With `dry_run` nothing is
    stored: the answer is the confirmation numbers (recipients, already_have, a sample)."""
    settings, actor = _settings(), current_actor()
    if body.pop("dry_run"):
        with sessions().begin() as session:
            return sends.dry_run(session, actor, body["release"], body["targets"])
    if body["track"] is None:
        body["track"] = settings.track_by_default
    with sessions().begin() as session:
        created = sends.create(session, actor, body.pop("release"), zone=settings.zone, **body)
    if created["due"] and settings.broker_url:
        sends.start(actor, settings, [created["id"]])  # committed: the workers can see it
    return created, 201


@blueprint.get("/<int:campaign_id>")
@needs(READ)
def get(campaign_id: int):
    """One campaign: its audience, times and stats (without per-recipient detail)."""
    with sessions().begin() as session:
        return sends.get(session, current_actor(), campaign_id, detail_limit=0)


@blueprint.get("/<int:campaign_id>/stats")
@needs(READ)
@blueprint.arguments(StatsQuery, location="query")
def campaign_stats(query, campaign_id: int):
    """How it did: the shape `distribute stats ID --json` prints."""
    with sessions().begin() as session:
        return stats.campaign(session, current_actor(), campaign_id, detail_limit=query["recipients"])


@blueprint.get("/<int:campaign_id>/recipients")
@needs(READ)
@blueprint.arguments(RecipientsQuery, location="query")
def recipients(query, campaign_id: int):
    """A page of recipients in id order; pass `next_after` back as `after` for the next."""
    with sessions().begin() as session:
        return stats.recipients(session, current_actor(), campaign_id, search=query["q"], state=query["state"],
                                after=query["after"], limit=query["limit"])


def _control(action):
    def view(campaign_id: int):
        with sessions().begin() as session:
            return action(session, current_actor(), campaign_id)

    view.__name__ = action.__name__
    view.__doc__ = f"{action.__name__.title()} the campaign. {action.__doc__.splitlines()[0]}"
    return view


for _action in (sends.pause, sends.resume, sends.cancel):
    blueprint.post(f"/<int:campaign_id>/{_action.__name__}")(needs(SEND)(_control(_action)))
