"""Campaigns: create one (validated before anything is stored), and control it: pause, resume,
cancel, retry. Sending itself is in fanout (audience → deliveries) and sender (the worker)."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, exists, func, select, update
from sqlalchemy.orm import Session

from distribute import states
from distribute.audience import resolve
from distribute.contacts.addresses import normalise
from distribute.sending.checks import missing_for
from distribute.sending.lookup import get_campaign  # noqa: F401 (callers find it here too)
from distribute.config import Settings
from distribute.deliveries import moves
from distribute.errors import Conflict, UserError
from distribute.models import Campaign, ContactList, Delivery, Event, Release, Segment, utcnow
from distribute.releases.store import parse_when
from distribute.releases.rendering import VARIANTS


class AlreadySent(Conflict):
    """The same release, variant and audience as a campaign that exists: its id goes with the
    error (an API client, the demo), so the caller can show that campaign instead."""

    def __init__(self, campaign_id: int, message: str):
        super().__init__(message, field="again", code="already_sent")
        self.campaign_id = campaign_id

    def as_dict(self) -> dict:
        return super().as_dict() | {"campaign": self.campaign_id}


# A time this far in the past still means "now" (the command took a moment to type).
PAST_GRACE = dt.timedelta(minutes=2)


@dataclass(frozen=True)
class Audience:
    segments: tuple[str, ...] = ()
    lists: tuple[str, ...] = ()
    test: tuple[str, ...] = ()  # --test addresses: only these are mailed

    def to_dict(self) -> dict:
        return {"segments": list(self.segments), "lists": list(self.lists), "test": list(self.test)}

    @classmethod
    def from_dict(cls, data: dict) -> "Audience":
        return cls(tuple(data.get("segments", ())), tuple(data.get("lists", ())), tuple(data.get("test", ())))

    def describe(self) -> str:
        if self.test:
            return "test: " + ", ".join(self.test)
        return ", ".join([f"segment {s}" for s in self.segments] + [f"list {name}" for name in self.lists])


def resolve_targets(session: Session, names: list[str]) -> Audience:
    """`--to` names a saved segment or a static list; `segment:NAME` / `list:NAME` when both exist."""
    if not names:
        raise UserError("choose who receives it: a saved segment or a list", field="targets")
    found_segments, found_lists = [], []
    for raw in names:
        kind, _, name = raw.partition(":") if raw.startswith(("segment:", "list:")) else ("", "", raw)
        name = name.strip()
        is_segment = session.scalar(select(Segment.id).where(Segment.name == name)) is not None
        is_list = session.scalar(select(ContactList.id).where(func.lower(ContactList.name) == name.lower())) is not None
        if kind == "segment" and is_segment or (not kind and is_segment and not is_list):
            found_segments.append(name)
        elif kind == "list" and is_list or (not kind and is_list and not is_segment):
            found_lists.append(name)
        elif not kind and is_segment and is_list:
            raise UserError(f"{name!r} is both a segment and a list: name it segment:{name} or list:{name}",
                            field="targets", code="ambiguous")
        else:
            known_segments = session.scalars(select(Segment.name).order_by(Segment.name)).all()
            known_lists = session.scalars(select(ContactList.name).order_by(ContactList.name)).all()
            raise UserError(
                f"unknown segment or list {raw!r}; segments: {', '.join(known_segments) or '(none)'}; "
                f"lists: {', '.join(known_lists) or '(none)'}", field="targets", code="not_found"
            )
    return Audience(tuple(dict.fromkeys(found_segments)), tuple(dict.fromkeys(found_lists)))


def parse_at(text: str, zone: ZoneInfo, now: dt.datetime) -> dt.datetime:
    """When to send: an ISO time with a zone, or a local time read in the configured zone."""
    try:
        when = parse_when(text, zone)
    except ValueError as exc:
        raise UserError(str(exc), field="at") from None
    if when < now - PAST_GRACE:
        raise UserError(f"{text!r} is in the past ({when:%Y-%m-%d %H:%M} UTC): leave the time out to send now",
                        field="at", code="past")
    return max(when, now)


def create_campaign(
    session: Session,
    release: Release,
    *,
    targets: list[str],
    variant: str,
    zone: ZoneInfo,
    at: str | None = None,
    test: list[str] | None = None,
    again: bool = False,
    track: bool = True,
    now: dt.datetime | None = None,
) -> Campaign:
    """Validate everything, then store the campaign as scheduled. Nothing is queued here."""
    now = now or utcnow()
    if variant not in VARIANTS:
        raise UserError(f"unknown variant {variant!r}: choose {' or '.join(VARIANTS)}", field="variant")
    when = parse_at(at, zone, now) if at else now
    if variant == "supporter" and release.embargo_until and release.embargo_until > when:
        raise UserError(
            f"release {release.slug} is under embargo until {release.embargo_until:%Y-%m-%d %H:%M} UTC: "
            "supporters may not get it before then (journalists may); choose a time after the embargo",
            field="at", code="embargo")
    if missing := missing_for(release, variant):
        raise UserError(f"release {release.slug} cannot be sent: {missing}", field="release", code="not_ready")
    if test:
        keys = []
        for raw in test:
            address, _ = normalise(raw)
            keys.append(address)
        target = Audience(test=tuple(dict.fromkeys(keys)))
    else:
        target = resolve_targets(session, targets)
        counts = audience_counts(session, release, target)
        if counts["recipients"] == 0:
            raise UserError(
                f"the audience ({target.describe()}) is empty: {counts['matched']} matched, "
                f"{counts['suppressed']} suppressed, {counts['inactive']} unsubscribed or bounced",
                field="targets", code="empty_audience")
        if not again:
            previous = same_send(session, release, variant, target)
            if previous is not None:
                raise AlreadySent(previous.id, f"campaign {previous.id} ({previous.state}) already sends this release "
                                               f"to {target.describe()}; nobody is mailed twice by accident")
            if counts["already_have"] == counts["recipients"]:
                raise Conflict(
                    f"all {counts['recipients']} recipients of {target.describe()} already have release {release.slug} "
                    "from another campaign: one release, one copy per address", field="again", code="already_have")
    campaign = Campaign(
        ref=secrets.token_hex(6),
        release_id=release.id,
        variant=variant,
        state=states.SCHEDULED,
        audience=target.to_dict(),
        is_test=bool(test),
        scheduled_at=when,
        track=track,
        again=again,
    )
    session.add(campaign)
    session.flush()
    return campaign


def same_send(session: Session, release: Release, variant: str, target: Audience) -> Campaign | None:
    """The latest campaign, not cancelled and not a test, of this release and variant to this audience."""
    candidates = session.scalars(
        select(Campaign).where(
            Campaign.release_id == release.id, Campaign.variant == variant, Campaign.is_test.is_(False),
            Campaign.state != states.CANCELLED,
        ).order_by(Campaign.id.desc())
    )
    return next((c for c in candidates if Audience.from_dict(c.audience) == target), None)


def audience_counts(session: Session, release: Release, target: Audience) -> dict[str, int]:
    """The audience's counts (see resolve.count_matching), and how many of its recipients
    already have the release from another campaign: fan-out skips them unless sent --again."""
    match = resolve.match_expression(session, segments=target.segments, lists=target.lists)
    counts = resolve.count_matching(session, match)
    return counts | {"already_have": resolve.already_have(session, match, release.id)}


def dry_run(session: Session, release: Release, targets: list[str], sample: int = 10) -> dict:
    target = resolve_targets(session, targets)
    match = resolve.match_expression(session, segments=target.segments, lists=target.lists)
    people = resolve.sample_recipients(session, match, limit=sample)
    return {
        "release": release.slug,
        "audience": target.to_dict(),
        **audience_counts(session, release, target),
        "sample": [{"email": c.email, "name": c.name, "outlet": c.outlet, "kind": c.kind} for c in people],
    }


# --- control ---------------------------------------------------------------------------------

def move(session: Session, campaign: Campaign, target: str, reason: str | None = None) -> bool:
    """Move a campaign if its state (re-read under the same WHERE) allows it; False if not."""
    allowed = states.sources(states.CAMPAIGN_TRANSITIONS, target)
    values = {"state": target}
    if reason is not None:
        values["state_reason"] = reason
    if target in (states.SENT, states.CANCELLED, states.FAILED):
        values["finished_at"] = utcnow()
    done = session.execute(
        update(Campaign).where(Campaign.id == campaign.id, Campaign.state.in_(allowed)).values(**values)
    ).rowcount
    session.refresh(campaign)
    return bool(done)


# --- the relay ------------------------------------------------------------------------------
# A relay that is down says nothing about the recipients: the campaign holds (still `sending`)
# and goes on by itself when the relay answers. Workers skip a waiting campaign's batches and
# the sweep puts its rows back on the broker once `wait_until` has passed.

RELAY_RETRY_MIN_SECONDS = 2.0


def waiting(now) -> ColumnElement[bool]:
    """SQL: the campaign holds for the relay at `now` (a bind parameter or a value)."""
    return and_(Campaign.wait_until.is_not(None), Campaign.wait_until > now)


def wait_for_relay(db, campaign_id: int, reason: str, settings: Settings, now: dt.datetime) -> str | None:
    """Hold the campaign: try again after as long as the relay has been down (2 s to
    relay_retry_max_seconds); past relay_wait_limit_seconds, pause it for a person to look.
    `db` is a Session or a Connection; returns "waiting" or "paused", None if it was not sending."""
    since = db.execute(select(Campaign.wait_since).where(Campaign.id == campaign_id)).scalar() or now
    down = (now - since).total_seconds()
    if down >= settings.relay_wait_limit_seconds:
        paused = db.execute(
            update(Campaign).where(Campaign.id == campaign_id, Campaign.state == states.SENDING).values(
                state=states.PAUSED, wait_since=None, wait_until=None, wait_reason=None,
                state_reason=f"the mail relay has not answered since {since:%Y-%m-%d %H:%M:%S} UTC "
                             f"({down / 60:.0f} min): {reason}; check the relay, then resume"[:1000])
        ).rowcount
        return "paused" if paused else None
    pause_for = min(max(down, RELAY_RETRY_MIN_SECONDS), settings.relay_retry_max_seconds)
    held = db.execute(
        update(Campaign).where(Campaign.id == campaign_id, Campaign.state == states.SENDING).values(
            wait_since=since, wait_until=now + dt.timedelta(seconds=pause_for), wait_reason=reason[:1000])
    ).rowcount
    return "waiting" if held else None


def relay_answers(db, campaign_id: int) -> None:
    """The relay took a message again: the campaign no longer waits."""
    db.execute(update(Campaign).where(Campaign.id == campaign_id, Campaign.wait_since.is_not(None))
               .values(wait_since=None, wait_until=None, wait_reason=None))


def stop_for_relay_settings(db, campaign_id: int, reason: str) -> bool:
    """Our settings do not fit the relay (login, certificate): waiting cannot help, so pause now."""
    return bool(db.execute(
        update(Campaign).where(Campaign.id == campaign_id, Campaign.state == states.SENDING).values(
            state=states.PAUSED, wait_since=None, wait_until=None, wait_reason=None,
            state_reason=f"the mail relay refused our settings: {reason}; fix DISTRIBUTE_SMTP_URL "
                         "(or the relay), then resume"[:1000])
    ).rowcount)


def pause(session: Session, campaign_id: int, reason: str = "paused by an operator") -> Campaign:
    campaign = get_campaign(session, campaign_id)
    if not move(session, campaign, states.PAUSED, reason):
        raise Conflict(f"campaign {campaign_id} is {campaign.state}: only a scheduled or sending campaign can be paused")
    return campaign


def resume(session: Session, campaign_id: int) -> Campaign:
    """Continue from where it stopped: queued rows are put back on the broker by the sweep."""
    campaign = get_campaign(session, campaign_id)
    if campaign.state != states.PAUSED:
        raise Conflict(f"campaign {campaign_id} is {campaign.state}, not paused")
    target = states.SENDING if campaign.fanned_out_at or campaign.started_at else states.SCHEDULED
    move(session, campaign, target, reason=None)
    campaign.state_reason = None
    campaign.wait_since = campaign.wait_until = campaign.wait_reason = None  # an operator says: try now
    campaign.resumed_at = utcnow()  # a fresh sample for the circuit breaker
    # Queued rows lose their place on the broker, so the next sweep puts them back at once.
    session.execute(
        update(Delivery).where(Delivery.campaign_id == campaign_id, Delivery.state == states.QUEUED)
        .values(lease_until=None, claimed_by=None)
    )
    return campaign


def cancel(session: Session, campaign_id: int) -> tuple[Campaign, int]:
    """Cancel: every delivery not yet sent ends `cancelled`. Workers stop before their next message."""
    campaign = get_campaign(session, campaign_id)
    if not move(session, campaign, states.CANCELLED, "cancelled by an operator"):
        raise Conflict(f"campaign {campaign_id} is {campaign.state}: it cannot be cancelled")
    # Rows a worker holds (sending) are cancelled by that worker, or by the sweep if it died.
    open_states = [s for s in states.sources(states.DELIVERY_TRANSITIONS, states.DELIVERY_CANCELLED) if s != states.DELIVERY_SENDING]
    cancelled = moves.move(session, states.DELIVERY_CANCELLED, Delivery.campaign_id == campaign_id, sources=open_states,
                           values={"lease_until": None, "claimed_by": None, "updated_at": utcnow()})
    return campaign, cancelled


def of_cancelled_campaign() -> ColumnElement[bool]:
    """A delivery of a campaign that has been cancelled."""
    return Delivery.campaign_id.in_(select(Campaign.id).where(Campaign.state == states.CANCELLED))


def settle_cancelled(db, campaign_id: int | None = None) -> int:
    """Deliveries of a cancelled campaign (of `campaign_id`, or of any) that came back after the
    cancel, given back by a worker, deferred by the relay or put back by the sweep, end cancelled.

    Run in a transaction of its own, after the one that gave them back has committed (with it,
    its counter locks would come in another order than a cancel's). It sees a cancel committed
    before it starts, and a cancel that writes after that commit finds the rows queued and
    cancels them itself. Only a cancel writing while the rows were being given back misses them
    (on PostgreSQL it sees them still `sending`): the sweep runs this for every campaign."""
    if campaign_id is None:
        cancelled = of_cancelled_campaign()
    else:  # the campaign's state first, once: a campaign that goes on costs no scan of its rows
        cancelled = and_(exists(select(Campaign.id).where(Campaign.id == campaign_id, Campaign.state == states.CANCELLED)),
                         Delivery.campaign_id == campaign_id)
    return moves.move(db, states.DELIVERY_CANCELLED, cancelled, sources=(states.QUEUED, states.DEFERRED),
                      values={"claimed_by": None, "lease_until": None, "updated_at": utcnow()})


def delivery_counts(session: Session, campaign_id: int) -> dict[str, int]:
    """How many of the campaign's deliveries are in each state (states with none left out)."""
    return dict(session.execute(
        select(Delivery.state, func.count()).where(Delivery.campaign_id == campaign_id).group_by(Delivery.state)
    ).all())


def retry(session: Session, campaign_id: int, *, unknown: bool = False) -> tuple[Campaign, int]:
    """Re-queue the deliveries that ended `failed` (or, with unknown=True, `unknown`: those may
    have been delivered already, so they are resent only on an operator's say-so)."""
    campaign = get_campaign(session, campaign_id)
    if campaign.state in (states.CANCELLED,):
        raise Conflict(f"campaign {campaign_id} is cancelled")
    if campaign.state in (states.SCHEDULED, states.PAUSED, states.DRAFT):
        raise Conflict(f"campaign {campaign_id} is {campaign.state}: resume it instead")
    source = states.UNKNOWN if unknown else states.DELIVERY_FAILED
    ids = session.scalars(select(Delivery.id).where(Delivery.campaign_id == campaign_id, Delivery.state == source)).all()
    if not ids:
        return campaign, 0
    now = utcnow()
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        moves.move(session, states.QUEUED, Delivery.id.in_(chunk), sources=(source,), values=dict(
            lease_until=None, claimed_by=None, attempt_started_at=None, next_attempt_at=None, first_attempt_at=None,
            updated_at=now,
        ))
        session.execute(
            Event.__table__.insert(),
            [{"delivery_id": i, "campaign_id": campaign_id, "type": "requeued", "source": "operator", "at": now,
              "data": {"from": source}} for i in chunk],
        )
    if campaign.state != states.SENDING:
        move(session, campaign, states.SENDING, reason=None)
    return campaign, len(ids)


def list_campaigns(session: Session, limit: int = 50, before: int | None = None) -> list[dict]:
    """The newest first; `before` (a campaign id) pages back."""
    query = select(Campaign, Release.slug).join(Release, Release.id == Campaign.release_id)
    if before is not None:
        query = query.where(Campaign.id < before)
    rows = session.execute(query.order_by(Campaign.id.desc()).limit(limit)).all()
    totals = dict(
        session.execute(
            select(Delivery.campaign_id, func.count()).where(Delivery.campaign_id.in_([c.id for c, _ in rows]))
            .group_by(Delivery.campaign_id)
        ).all()
    ) if rows else {}
    return [summary(c, slug, totals.get(c.id, 0)) for c, slug in rows]


def summary(c: Campaign, release_slug: str, recipients: int | None = None) -> dict:
    iso = lambda t: t.isoformat() if t else None  # noqa: E731
    return {
        "id": c.id, "release": release_slug, "variant": c.variant, "state": c.state, "reason": c.state_reason,
        "audience": c.audience, "test": c.is_test, "recipients": recipients,
        "scheduled_at": iso(c.scheduled_at), "started_at": iso(c.started_at), "finished_at": iso(c.finished_at),
        "created_at": iso(c.created_at),
    }
