"""The public newsroom: the releases anyone may read, newest first, for the index page and the
Atom feed journalists subscribe to.

A release is in it by the rule of its web version (services.releases.published_where): a real
campaign of it has started sending and its embargo, if any, has lifted. It is dated the later of
the first such start and the embargo. No actor: this is what the public app shows to anyone."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from distribute import states
from distribute.models import Campaign, Release
from distribute.releases.content import body_html
from distribute.releases.rendering import dateline_for
from distribute.services.releases import published_where

PAGE = 50


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def published(session: Session, now: dt.datetime, *, limit: int = PAGE, content: bool = False) -> list[dict[str, Any]]:
    """The newest published releases: slug, title, subtitle, label, dateline, language,
    published_at (aware, UTC) and, with `content`, the body as HTML (for the feed)."""
    # the date only: which releases are public is published_where's to say
    first_sent = (select(Campaign.release_id, func.min(Campaign.started_at).label("sent_at"))
                  .where(Campaign.is_test.is_(False), Campaign.started_at.is_not(None),
                         or_(Campaign.state != states.CANCELLED, Campaign.fanned_out_at.is_not(None)))
                  .group_by(Campaign.release_id).subquery())
    at = case((Release.embargo_until > first_sent.c.sent_at, Release.embargo_until), else_=first_sent.c.sent_at)
    query = (select(Release, at.label("published_at")).join(first_sent, first_sent.c.release_id == Release.id)
             .where(published_where(now))
             .order_by(at.desc(), Release.id.desc()).limit(max(1, min(limit, 200))))
    return [_entry(release, published_at, content) for release, published_at in session.execute(query)]


def _entry(release: Release, published_at: dt.datetime, content: bool) -> dict[str, Any]:
    entry = {"slug": release.slug, "title": release.title, "subtitle": release.subtitle, "label": release.label,
             "dateline": release.dateline, "language": release.language, "published_at": _utc(published_at)}
    if content:
        entry["content_html"] = str(body_html(release.body, release.source_format, dateline_for(release)))
    return entry
