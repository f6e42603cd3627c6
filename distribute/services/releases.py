"""Releases: add, update, remove, list, show, check, preview and test-send them; and the rule that
says when a release is public (its web version and the newsroom).

Every function takes the caller's session (one unit of work) and an Actor, checks the actor's role,
records changes in the audit log and returns plain data: the shapes `distribute release … --json`
prints."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import default as email_policy
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, exists, inspect, or_, select
from sqlalchemy.orm import Session

from distribute import states
from distribute.config import Settings
from distribute.contacts.addresses import normalise
from distribute.errors import NotFound, UserError
from distribute.models import Campaign, Contact, Release, utcnow
from distribute.releases.content import blocks
from distribute.releases.editable import editable_text
from distribute.releases.reader import ReleaseDraft, ReleaseError, read_data
from distribute.releases.rendering import VARIANTS, compile_release
from distribute.releases.store import CONTENT_FIELDS, get_release, remove_release, save_release
from distribute.sending.campaigns import create_campaign
from distribute.sending.checks import ERROR, check_release
from distribute.sending.message import MessageBuilder, Recipient
from distribute.services import audit
from distribute.services.actor import EDIT, READ, SEND, Actor, require


# --- when a release is public -------------------------------------------------------------------
def _started_sending(release_id) -> ColumnElement[bool]:
    """A real campaign of the release has started sending. A campaign cancelled before its fan-out
    mailed nobody (or almost nobody): that does not make a release public."""
    return exists().where(
        Campaign.release_id == release_id, Campaign.is_test.is_(False), Campaign.started_at.is_not(None),
        Campaign.state.not_in((states.CANCELLED,)) | Campaign.fanned_out_at.is_not(None),
    )


def published_where(now: dt.datetime) -> ColumnElement[bool]:
    """The SQL form of `is_published`, to select published releases (the newsroom) in one query."""
    return and_(or_(Release.embargo_until.is_(None), Release.embargo_until <= now), _started_sending(Release.id))


def is_published(release: Release, now: dt.datetime | None = None) -> bool:
    """Public once a real campaign of it has started sending and its embargo (if any) has lifted;
    before that its web version is a 404, as for a release that does not exist."""
    now = now or utcnow()
    if release.embargo_until is not None and release.embargo_until > now:
        return False
    session = inspect(release).session
    return bool(session.scalar(select(_started_sending(release.id))))


def find_published(session, slug: str, now: dt.datetime | None = None) -> Release | None:
    """The release public under this slug, or None (unknown and not yet public look the same)."""
    release = session.scalar(select(Release).where(Release.slug == slug))
    return release if release is not None and is_published(release, now) else None


# --- reading, storing, removing -----------------------------------------------------------------
@dataclass(frozen=True)
class Text:
    """A release's text as it came: a file's bytes (the CLI, an upload) or what was typed in the
    editor. `source` names it in errors ("statement.txt:12: …"); its suffix (.md) says Markdown
    when `fmt` is "auto". `title` and `language`, when given, win over what the text says."""

    data: bytes
    source: str
    fmt: str = "auto"
    title: str | None = None
    language: str | None = None

    def read(self, zone: ZoneInfo) -> ReleaseDraft:
        if self.fmt not in FORMATS:
            raise UserError(f"unknown format {self.fmt!r}: one of {', '.join(FORMATS)}", field="format")
        return read_data(self.data, self.source, zone=zone, title=self.title, fmt=self.fmt, language=self.language)


FORMATS = ("auto", "markdown", "text")


def add(session: Session, actor: Actor, text: Text, *, zone: ZoneInfo, slug: str | None = None) -> dict:
    """Store a new release (or, under an existing `slug`, its new text while none of its campaigns
    has started). The same text stored before stores nothing: outcome "identical"."""
    require(actor, EDIT)
    return _save(session, actor, text.read(zone), slug=slug, must_exist=False)


def update(session: Session, actor: Actor, slug: str, text: Text, *, zone: ZoneInfo) -> dict:
    """Replace the text of release `slug`, refused once a campaign has started sending it."""
    require(actor, EDIT)
    return _save(session, actor, text.read(zone), slug=slug, must_exist=True)


def _save(session: Session, actor: Actor, draft: ReleaseDraft, *, slug: str | None, must_exist: bool) -> dict:
    saved = save_release(session, draft, slug=slug, must_exist=must_exist)
    r = saved.release
    if saved.outcome != "identical":
        audit.record(session, actor, f"release.{'add' if saved.outcome == 'stored' else 'update'}", f"release:{r.id}",
                     {"slug": r.slug, "title": r.title})
    return {"id": r.id, "slug": r.slug, "title": r.title, "dateline": r.dateline, "outcome": saved.outcome,
            "release_date": r.release_date.isoformat() if r.release_date else None, "language": r.language,
            "embargo_until": _iso(r.embargo_until)}


def remove(session: Session, actor: Actor, ref: str) -> dict:
    """Delete a release never sent, with its test sends and cancelled campaigns."""
    require(actor, EDIT)
    r = get_release(session, ref)
    result = {"id": r.id, "slug": r.slug, "removed": True}
    remove_release(session, r)
    audit.record(session, actor, "release.remove", f"release:{result['id']}", {"slug": result["slug"]})
    return result


# --- reading them back --------------------------------------------------------------------------
DRAFT, SCHEDULED, SENT, EMBARGOED = "draft", "scheduled", "sent", "embargoed"
RELEASE_STATES = (DRAFT, SCHEDULED, SENT, EMBARGOED)


def _waiting_to_start(release_id) -> ColumnElement[bool]:
    """A real campaign of the release will send it (scheduled, or paused before it started)."""
    return exists().where(
        Campaign.release_id == release_id, Campaign.is_test.is_(False), Campaign.started_at.is_(None),
        Campaign.state.in_((states.DRAFT, states.SCHEDULED, states.PAUSED)),
    )


def _state(started: bool, waiting: bool, embargo_until: dt.datetime | None, now: dt.datetime) -> str:
    """sent: public (the same rule as is_published); embargoed: sent to journalists, not public
    until the embargo lifts; scheduled: a campaign will send it; draft: nothing will."""
    if started:
        return EMBARGOED if embargo_until is not None and embargo_until > now else SENT
    return SCHEDULED if waiting else DRAFT


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _summary(r: Release, state: str) -> dict:
    return {"id": r.id, "slug": r.slug, "title": r.title, "dateline": r.dateline,
            "embargo_until": _iso(r.embargo_until), "created_at": _iso(r.created_at),
            "updated_at": _iso(r.updated_at), "state": state}


def list_releases(session: Session, actor: Actor, *, limit: int | None = None, before: int | None = None,
                  now: dt.datetime | None = None) -> list[dict]:
    """Newest first, with full titles and each one's state, in one query. `limit` and `before`
    (a release id) page through them by the primary key."""
    require(actor, READ)
    now = now or utcnow()
    query = (select(Release, _started_sending(Release.id).label("started"), _waiting_to_start(Release.id).label("waiting"))
             .order_by(Release.id.desc()))
    if before is not None:
        query = query.where(Release.id < before)
    if limit is not None:
        query = query.limit(max(1, min(limit, 500)))
    return [_summary(r, _state(started, waiting, r.embargo_until, now)) for r, started, waiting in session.execute(query)]


def state_of(session: Session, release: Release, now: dt.datetime | None = None) -> str:
    started, waiting = session.execute(select(_started_sending(release.id), _waiting_to_start(release.id))).one()
    return _state(started, waiting, release.embargo_until, now or utcnow())


def understood(r: Release, state: str) -> dict:
    """Every field the reader understood, as `release show` prints it."""
    return _summary(r, state) | {
        "subtitle": r.subtitle, "label": r.label, "dateline_dash": r.dateline_dash,
        "release_date": _iso(r.release_date), "language": r.language, "contacts": r.contacts or [],
        "boilerplate_heading": r.boilerplate_heading, "boilerplate": r.boilerplate,
        "lists": [{"kind": kind, "items": items} for kind, items in blocks(r.body, r.source_format) if kind != "p"],
        "notes": r.notes or [], "end_mark": r.end_mark, "cta_label": r.cta_label, "cta_url": r.cta_url,
        "source_format": r.source_format, "body": r.body,
    }


def show(session: Session, actor: Actor, ref: str, *, now: dt.datetime | None = None) -> dict:
    require(actor, READ)
    r = get_release(session, ref)
    return understood(r, state_of(session, r, now))


def source_text(session: Session, actor: Actor, ref: str) -> dict:
    """The release as a Markdown file to edit: saved unchanged, it stores nothing."""
    require(actor, READ)
    r = get_release(session, ref)
    return {"id": r.id, "slug": r.slug, "text": editable_text(r), "source_format": r.source_format}


# --- checking and previewing --------------------------------------------------------------------
def _variants(variants: tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(variants or ())) or VARIANTS
    for variant in chosen:
        if variant not in VARIANTS:
            raise UserError(f"unknown variant {variant!r}: one of {', '.join(VARIANTS)}", field="variant")
    return chosen


def _check(r: Release, settings: Settings, variants: tuple[str, ...], now: dt.datetime | None) -> dict:
    findings = check_release(r, settings, now=now, variants=variants)
    errors = sum(f.severity == ERROR for f in findings)
    return {"release": r.slug, "variants": list(variants), "ok": errors == 0, "errors": errors,
            "warnings": len(findings) - errors, "findings": [f.to_dict() for f in findings]}


def check(session: Session, actor: Actor, ref: str, *, settings: Settings, variants=None,
          now: dt.datetime | None = None) -> dict:
    """The pre-flight check: each finding with its severity and variant (None: both); "ok" is
    False when a variant asked for has an error (do not send that variant yet)."""
    require(actor, READ)
    return _check(get_release(session, ref), settings, _variants(variants), now)


SAMPLE = Recipient("jane.doe@example.com", "Jane Doe", "The Example Times")


def _recipient(session: Session, email: str | None) -> Recipient:
    if not email:
        return SAMPLE
    try:
        key = normalise(email)[1]
    except UserError as exc:
        raise UserError(str(exc), field="contact") from None
    contact = session.scalar(select(Contact).where(Contact.email_key == key))
    if contact is None:
        raise NotFound(f"no contact {email.strip()!r}: preview for a contact that exists, or for the sample recipient",
                       field="contact")
    return Recipient(contact.email, contact.name, contact.outlet)


def _rendered(r: Release, variant: str, recipient: Recipient, settings: Settings, now, with_eml: bool) -> dict:
    builder = MessageBuilder(compile_release(r, variant, settings, now=now), settings)
    text, html = builder.personalise(recipient, "preview")
    message = builder.build(recipient, "preview")
    head = BytesParser(policy=email_policy).parsebytes(message, headersonly=True)
    result = {"variant": variant, "subject": builder.compiled.subject,
              "recipient": {"email": recipient.email, "name": recipient.name, "outlet": recipient.outlet},
              "headers": [[name, str(value)] for name, value in head.items()],
              "html": html, "text": text, "html_bytes": len(html.encode())}
    return result | ({"eml": message} if with_eml else {})


def preview(session: Session, actor: Actor, ref: str, *, settings: Settings, variants=None,
            contact: str | None = None, with_eml: bool = False, now: dt.datetime | None = None) -> dict:
    """The email each variant asked for would be, for a real contact (by email) or a sample
    recipient: subject, headers, HTML and plain-text parts (and, with_eml, the whole message as
    bytes: not JSON, for writing to a file)."""
    require(actor, READ)
    r = get_release(session, ref)
    recipient = _recipient(session, contact)
    return {"release": r.slug, "variants": [_rendered(r, v, recipient, settings, now, with_eml) for v in _variants(variants)]}


def overview(session: Session, actor: Actor, ref: str, *, settings: Settings, contact: str | None = None,
             now: dt.datetime | None = None) -> dict:
    """What the release page shows in one call: the release, its check, and each variant's email
    for the chosen contact (or the sample recipient, with `contact_error` saying why)."""
    release = show(session, actor, ref, now=now)
    contact_error = None
    try:
        shown = preview(session, actor, ref, settings=settings, contact=contact, now=now)
    except NotFound as exc:
        contact_error = exc.as_dict()
        shown = preview(session, actor, ref, settings=settings, now=now)
    return {"release": release, "check": check(session, actor, ref, settings=settings, now=now),
            "preview": shown, "contact_error": contact_error}


def try_text(actor: Actor, text: Text, *, settings: Settings, variant: str = "journalist",
             now: dt.datetime | None = None) -> dict:
    """The editor's live view of text not stored yet: what the reader understood, the check and
    the email for the sample recipient; or, when the text cannot be read, the error with its
    line. Nothing is stored and nothing is recorded."""
    require(actor, EDIT)
    (variant,) = _variants([variant])
    try:
        draft = text.read(settings.zone)
    except ReleaseError as exc:
        return {"ok": False, "error": exc.as_dict()}
    # Unsaved: an unattached Release, never added to a session.
    r = Release(slug="preview", source_format=draft.source_format, **{name: getattr(draft, name) for name in CONTENT_FIELDS})
    return {"ok": True, "error": None, "understood": understood(r, DRAFT) | {"id": None, "created_at": None},
            "check": _check(r, settings, VARIANTS, now),
            "email": _rendered(r, variant, SAMPLE, settings, now, with_eml=False)}


# --- a test send ---------------------------------------------------------------------------------
def test_send(session: Session, actor: Actor, ref: str, *, to: list[str], settings: Settings,
              variant: str = "journalist", track: bool | None = None) -> dict:
    """A test campaign of the release to these addresses only, kept out of stats: the same path as
    any test send. Nothing is queued here: the caller starts the campaign once this commits."""
    require(actor, SEND)
    (variant,) = _variants([variant])
    if not to:
        raise UserError("a test send needs at least one address", field="to")
    r = get_release(session, ref)
    campaign = create_campaign(session, r, targets=[], variant=variant, zone=settings.zone, test=list(to),
                               track=settings.track_by_default if track is None else track)
    audit.record(session, actor, "release.test_send", f"campaign:{campaign.id}",
                 {"release": r.slug, "variant": variant, "to": campaign.audience["test"]})
    return {"campaign": campaign.id, "release": r.slug, "variant": variant, "to": campaign.audience["test"],
            "state": campaign.state}
