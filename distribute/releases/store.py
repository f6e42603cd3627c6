"""Releases: store what the reader (distribute.releases.reader) understood of a release file,
update it while no campaign has sent it, and remove one never sent.

Nothing is stored unless the whole file is understood.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass

from slugify import slugify as make_slug
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from distribute.errors import Conflict, NotFound, UserError
from distribute.models import Campaign, Release, utcnow
from distribute.releases.dates import parse_when
from distribute.releases.reader import MAX_TITLE, ReleaseDraft, ReleaseError, decode, read_release
from distribute.states import CANCELLED

__all__ = ["MAX_TITLE", "ReleaseDraft", "ReleaseError", "decode", "parse_when", "read_release", "save_release",
           "store_release", "remove_release", "get_release", "content_hash", "slugify"]


def slugify(title: str) -> str:
    """A URL name from a title in any script: transliterated (an Arabic or Chinese headline gets a
    readable Latin slug, not "release"), lowercase words joined by hyphens, cut at a word."""
    return make_slug(title, max_length=80, word_boundary=True, save_order=True) or "release"


def unique_slug(session: Session, title: str) -> str:
    base = slugify(title)
    taken = set(session.scalars(select(Release.slug).where(Release.slug.like(f"{base}%"))))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


# What a release says: every field a reader of the email sees. The slug is only its name here.
CONTENT_FIELDS = ("title", "subtitle", "label", "dateline", "dateline_dash", "release_date", "embargo_until",
                  "language", "body", "contacts", "boilerplate_heading", "boilerplate", "cta_label", "cta_url",
                  "end_mark", "notes")
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def content_hash(item: ReleaseDraft | Release) -> str:
    """SHA-256 over the content fields of a draft or a stored release: equal when a reader would
    see the same email (the same file read twice, or saved with other line endings)."""
    def plain(value):
        return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value

    canonical = {name: plain(getattr(item, name)) for name in CONTENT_FIELDS}
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class Saved:
    release: Release
    outcome: str  # "stored" | "updated" | "identical" (nothing stored: `release` is the one it equals)


def save_release(session: Session, draft: ReleaseDraft, *, slug: str | None = None, must_exist: bool = False) -> Saved:
    """Store a draft: as a new release, or as the new text of release `slug` while none of its
    campaigns has started. Text identical to a stored release stores nothing."""
    if slug is not None and not (_SLUG.fullmatch(slug) and len(slug) <= 120):
        raise UserError(f"slug {slug!r}: use up to 120 lowercase letters, digits and single hyphens, "
                        "e.g. aleppo-office-destroyed", field="slug")
    digest = content_hash(draft)
    _hash_older_releases(session)
    identical = session.scalar(select(Release).where(Release.content_hash == digest).order_by(Release.id).limit(1))
    existing = session.scalar(select(Release).where(Release.slug == slug)) if slug else None
    if must_exist and existing is None:
        raise NotFound(f"no release with slug {slug!r} to update")
    if identical is not None and (existing is None or existing.id == identical.id):
        return Saved(identical, "identical")
    if existing is not None:
        started = first_started_campaign(session, existing)
        if started is not None:
            raise Conflict(
                f"release {existing.slug} cannot be changed: campaign {started.id} started sending it on "
                f"{started.started_at:%Y-%m-%d %H:%M} UTC, and its recipients have that text; "
                "store the new text as a new release under another slug"
            )
        for name in CONTENT_FIELDS + ("source_format",):
            setattr(existing, name, getattr(draft, name))
        existing.content_hash, existing.updated_at = digest, utcnow()
        session.flush()
        return Saved(existing, "updated")
    release = Release(slug=slug or unique_slug(session, draft.title), content_hash=digest, source_format=draft.source_format,
                      **{name: getattr(draft, name) for name in CONTENT_FIELDS})
    session.add(release)
    session.flush()
    return Saved(release, "stored")


def _hash_older_releases(session: Session) -> None:
    """Releases stored before hashes were kept get theirs now (a one-off, a few rows)."""
    for release in session.scalars(select(Release).where(Release.content_hash.is_(None))):
        release.content_hash = content_hash(release)


def store_release(session: Session, draft: ReleaseDraft) -> Release:
    """Save a draft as a new release, or find the identical one already stored."""
    return save_release(session, draft).release


def first_started_campaign(session: Session, release: Release) -> Campaign | None:
    """The first real (non-test) campaign of the release that has started sending, if any."""
    return session.scalar(
        select(Campaign).where(Campaign.release_id == release.id, Campaign.is_test.is_(False),
                               Campaign.started_at.is_not(None)).order_by(Campaign.started_at).limit(1)
    )


def remove_release(session: Session, release: Release) -> None:
    """Delete a release that was never sent, with its test sends and cancelled campaigns."""
    started = first_started_campaign(session, release)
    if started is not None:
        raise Conflict(f"release {release.slug} was sent (campaign {started.id}): a sent release is kept, "
                        "with its deliveries and stats")
    pending = session.scalar(
        select(Campaign).where(Campaign.release_id == release.id, Campaign.is_test.is_(False),
                               Campaign.state != CANCELLED).limit(1)
    )
    if pending is not None:
        raise Conflict(f"release {release.slug} is in campaign {pending.id} ({pending.state}): cancel that campaign first")
    session.execute(delete(Campaign).where(Campaign.release_id == release.id))  # deliveries and events cascade
    session.delete(release)
    session.flush()


def get_release(session: Session, ref: str) -> Release:
    """A release by id or slug."""
    release = None
    if ref.isdigit():
        release = session.get(Release, int(ref))
    if release is None:
        release = session.scalar(select(Release).where(Release.slug == ref))
    if release is None:
        recent = session.scalars(select(Release.slug).order_by(Release.id.desc()).limit(5)).all()
        hint = f"; recent releases: {', '.join(recent)}" if recent else "; there are no releases yet"
        raise NotFound(f"no release with id or slug {ref!r}{hint}")
    return release
