"""Sends: check an audience, create a campaign (now, at a time, or at the embargo), start it,
watch it, and pause, resume, cancel or retry it. Every interface sends through here.

The rules themselves are the pipeline's (`sending/campaigns.py`: what a campaign needs, one copy
per address, the state table); this module adds who may do it, the audit log, and plain data."""

from __future__ import annotations

import datetime as dt
from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from distribute import states
from distribute.config import Settings
from distribute.errors import UserError
from distribute.models import Campaign, ContactList, Release, Segment, utcnow
from distribute.releases.rendering import VARIANTS
from distribute.releases.store import get_release
from distribute.sending import campaigns as ops
from distribute.services import audit
from distribute.services.actor import READ, SEND, Actor, require
from distribute.stats.campaign import campaign_stats, progress

STOPPED = (states.PAUSED, states.CANCELLED, states.FAILED)  # how a campaign can end without being sent
DUE_GRACE = dt.timedelta(seconds=1)  # "now" as typed a moment ago is still now
CHOICES = 500  # releases, segments and lists offered in a send form


def describe_audience(audience: dict) -> str:
    return ops.Audience.from_dict(audience).describe()


def _summary(campaign: Campaign, slug: str, recipients: int | None = None) -> dict:
    return ops.summary(campaign, slug, recipients) | {"due": campaign.scheduled_at <= utcnow() + DUE_GRACE}


def dry_run(session: Session, actor: Actor, release_ref: str, targets: list[str], *, sample: int = 10) -> dict:
    """Who a send would reach, changing nothing: recipients after suppression, how many of them
    already have this release (skipped unless sent again), and a sample of them."""
    require(actor, READ)
    return ops.dry_run(session, get_release(session, release_ref), list(targets), sample=sample)


def _embargo_time(release) -> str:
    if release.embargo_until is None:
        raise UserError(f"release {release.slug} has no embargo: send it now or choose a time", field="at",
                        code="no_embargo")
    return release.embargo_until.isoformat()


def create(session: Session, actor: Actor, release_ref: str, *, targets: list[str] = (), variant: str,
           zone: ZoneInfo, at: str | None = None, at_embargo: bool = False, test: list[str] = (),
           again: bool = False, track: bool = True) -> dict:
    """Validate and store a campaign as scheduled (due now or later); nothing is queued here:
    `start` (workers) or `run_embedded` sends it once the caller has committed."""
    require(actor, SEND)
    release = get_release(session, release_ref)
    if at_embargo:
        at = _embargo_time(release)
    campaign = ops.create_campaign(session, release, targets=list(targets), variant=variant, zone=zone, at=at,
                                   test=list(test), again=again, track=track)
    counts = None if test else ops.audience_counts(session, release, ops.Audience.from_dict(campaign.audience))
    audit.record(session, actor, "campaign.create", f"campaign:{campaign.id}",
                 {"release": release.slug, "variant": variant, "audience": campaign.audience, "again": again,
                  "track": track, "scheduled_at": campaign.scheduled_at.isoformat()})
    return _summary(campaign, release.slug, counts["recipients"] if counts else len(campaign.audience["test"])) | {
        "audience_counts": counts}


def start(actor: Actor, settings: Settings, campaign_ids: list[int]) -> None:
    """Hand due campaigns to the workers now (beat would find them within its period). Call it
    after the campaign is committed: a worker must never look for a row it cannot see."""
    require(actor, SEND)
    from distribute.sending.tasks import create_celery

    broker = create_celery(settings).runtime().broker
    for campaign_id in campaign_ids:
        broker.start(campaign_id)


def run_embedded(actor: Actor, settings: Settings, campaign_ids: list[int], on_progress: Callable,
                 forever: bool = False) -> None:
    """No broker: send through worker threads in this process until nothing is left (or for
    ever: `distribute run`); `on_progress(session)` is called about ten times a second."""
    require(actor, SEND)
    from distribute.sending.embedded import run_until_idle
    from distribute.sending.tasks import create_celery

    run_until_idle(create_celery(settings), settings, campaign_ids, on_progress, forever=forever)


def watch(session: Session, actor: Actor, campaign_ids: list[int]) -> dict:
    """Where these campaigns stand: finished and total deliveries, whether workers still have
    something to do, and what holds any of them up (the mail relay not answering)."""
    require(actor, READ)
    from distribute.sending.embedded import active

    done, total = progress(session, campaign_ids)
    held = session.scalars(select(Campaign).where(Campaign.id.in_(campaign_ids)).order_by(Campaign.id)).all()
    return {"done": done, "total": total, "active": active(session, campaign_ids),
            "campaigns": [{"id": c.id, "state": c.state, "reason": c.state_reason,
                           "waiting": c.wait_reason if c.wait_until and c.state == states.SENDING else None}
                          for c in held]}


def activity(session: Session, actor: Actor, since: dt.datetime, known: list[int]) -> list[dict]:
    """`distribute run`'s view: campaigns sending, started or finished since `since`, or already
    known, each with its state, what it waits for, and its deliveries per state."""
    require(actor, READ)
    rows = session.scalars(select(Campaign).where(
        (Campaign.state == states.SENDING) | (Campaign.started_at >= since) | (Campaign.finished_at >= since)
        | Campaign.id.in_(known)).order_by(Campaign.id)).all()
    return [{"id": c.id, "state": c.state, "reason": c.state_reason,
             "waiting": c.wait_reason if c.wait_until else None,
             "counts": ops.delivery_counts(session, c.id)} for c in rows]


def list_campaigns(session: Session, actor: Actor, *, limit: int = 50, before: int | None = None) -> list[dict]:
    require(actor, READ)
    return ops.list_campaigns(session, limit=max(1, min(limit, 500)), before=before)


def get(session: Session, actor: Actor, campaign_id: int, *, detail_limit: int = 200) -> dict:
    """One campaign: its stats (stats/campaign.py's shape) with its audience and times."""
    require(actor, READ)
    campaign = ops.get_campaign(session, campaign_id)
    stats = campaign_stats(session, campaign_id, detail_limit=detail_limit)
    return stats | {k: v for k, v in ops.summary(campaign, stats["release"]).items() if k not in stats}


def _slug(session: Session, campaign: Campaign) -> str:
    return session.scalar(select(Release.slug).where(Release.id == campaign.release_id))


def pause(session: Session, actor: Actor, campaign_id: int) -> dict:
    """Stop sending within seconds; `resume` continues from where it stopped."""
    require(actor, SEND)
    campaign = ops.pause(session, campaign_id, reason=f"paused by {actor.name}")
    audit.record(session, actor, "campaign.pause", f"campaign:{campaign_id}")
    return _summary(campaign, _slug(session, campaign))


def resume(session: Session, actor: Actor, campaign_id: int) -> dict:
    """Continue a paused campaign: sending again, or scheduled again if its start is ahead
    (`due` says which)."""
    require(actor, SEND)
    campaign = ops.resume(session, campaign_id)
    audit.record(session, actor, "campaign.resume", f"campaign:{campaign_id}")
    return _summary(campaign, _slug(session, campaign))


def cancel(session: Session, actor: Actor, campaign_id: int) -> dict:
    """Every delivery not yet sent ends cancelled; those a worker holds finish within seconds
    (`cancel_outcome` counts them once they have)."""
    require(actor, SEND)
    _, cancelled = ops.cancel(session, campaign_id)
    audit.record(session, actor, "campaign.cancel", f"campaign:{campaign_id}", {"cancelled": cancelled})
    return cancel_outcome(session, actor, campaign_id)


def cancel_outcome(session: Session, actor: Actor, campaign_id: int) -> dict:
    """How a cancel ended: deliveries cancelled, sent before it, and not settled yet (in a
    worker's hands, or given back by one and not yet cancelled: the next sweep does that)."""
    require(actor, READ)
    campaign = ops.get_campaign(session, campaign_id)
    counts = ops.delivery_counts(session, campaign_id)
    return {"campaign": campaign_id, "state": campaign.state, "cancelled": counts.get(states.DELIVERY_CANCELLED, 0),
            "sent": counts.get(states.DELIVERED, 0), "in_hand": sum(counts.get(s, 0) for s in states.UNFINISHED)}


def retry(session: Session, actor: Actor, campaign_id: int, *, unknown: bool = False) -> dict:
    """Send again to the recipients that ended failed (or, on request, unknown: those may have
    been delivered already, so they may arrive twice)."""
    require(actor, SEND)
    _, n = ops.retry(session, campaign_id, unknown=unknown)
    if n:
        audit.record(session, actor, "campaign.retry", f"campaign:{campaign_id}", {"requeued": n, "unknown": unknown})
    return {"campaign": campaign_id, "requeued": n}


def send_options(session: Session, actor: Actor, settings: Settings) -> dict:
    """What a send form offers: the latest releases (with their embargo), the saved segments
    and lists, the variants, the time zone a time is read in, and tracking's default."""
    require(actor, SEND)
    releases = session.execute(select(Release.id, Release.slug, Release.title, Release.embargo_until)
                               .order_by(Release.id.desc()).limit(CHOICES)).all()
    return {
        "releases": [{"id": i, "slug": slug, "title": title, "embargo_until": embargo.isoformat() if embargo else None}
                     for i, slug, title, embargo in releases],
        "segments": list(session.scalars(select(Segment.name).order_by(Segment.name).limit(CHOICES))),
        "lists": list(session.scalars(select(ContactList.name).order_by(ContactList.name).limit(CHOICES))),
        "variants": list(VARIANTS), "zone": settings.timezone, "track_default": settings.track_by_default,
    }


def live(session: Session, actor: Actor, campaign_id: int) -> dict:
    """What a campaign page shows while it sends (polled every few seconds): progress, rate, the
    latest errors, why it holds or stopped, and which controls its state allows."""
    require(actor, READ)
    campaign = ops.get_campaign(session, campaign_id)
    s = campaign_stats(session, campaign_id, detail_limit=0)
    unfinished = sum(n for state, n in s["counts"].items() if state in states.UNFINISHED)
    allowed = states.CAMPAIGN_TRANSITIONS[s["state"]]
    return {key: s[key] for key in ("campaign", "release", "variant", "state", "reason", "waiting", "test",
                                    "recipients", "counts", "first_sent_at", "last_sent_at",
                                    "send_rate_per_second", "last_errors")} | {
        "done": s["recipients"] - unfinished,
        "can": {"pause": states.PAUSED in allowed and s["state"] != states.PAUSED,
                "resume": s["state"] == states.PAUSED,
                "cancel": states.CANCELLED in allowed},
        "may_send": actor.may(SEND), "audience": describe_audience(campaign.audience),
        "scheduled_at": campaign.scheduled_at.isoformat()}
