"""Releases: add, update, remove, list, show, check, preview and test-send them; and the rule that
says when a release is public (its web version and the newsroom).

Every function takes the caller's session (one unit of work) and an Actor, checks the actor's role,
records changes in the audit log and returns plain data: the shapes `distribute release … --json`
prints."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, and_, exists, inspect, or_, select

from distribute import states
from distribute.models import Campaign, Release, utcnow


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
