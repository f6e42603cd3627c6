"""Segments: check a rule, count whom it reaches, save, list, show and remove saved segments.

Counts are always after suppressions and statuses (see audience.resolve.count_matching), so the
number a person sees before saving is the number a send would reach today. A bad rule raises
RuleError with `.line` and `.column`, for a caret under the spot."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from distribute.audience import resolve
from distribute.audience import segments as saved
from distribute.audience.rules import parse_rule
from distribute.models import Contact, Segment
from distribute.services import audit
from distribute.services.actor import EDIT, READ, Actor, require

MAX_SAMPLE = 10_000


def _counts(session: Session, segment: Segment) -> dict[str, int]:
    return resolve.count_matching(session, saved.segment_expression(session, segment))


def check(session: Session, actor: Actor, rule: str) -> dict[str, Any]:
    """A rule checked and counted, not saved: {"rule", "understood_as", matched, suppressed,
    inactive, recipients}."""
    require(actor, READ)
    parsed = parse_rule(rule)
    parsed.check(session)
    return {"rule": parsed.text, "understood_as": str(parsed), **resolve.count_matching(session, parsed.to_sql())}


def add(session: Session, actor: Actor, name: str, rule: str, *, replace: bool = False) -> dict[str, Any]:
    """Save a rule under a name (Conflict if the name is taken and not `replace`)."""
    require(actor, EDIT)
    existing = saved.find_segment(session, name)
    before = existing.rule if existing is not None else None
    segment = saved.add_segment(session, name, rule, replace=replace)
    replaced = existing is not None
    if before != segment.rule:  # saving the same rule again changes nothing, so records nothing
        audit.record(session, actor, "segment.replace" if replaced else "segment.add", f"segment:{segment.id}",
                     {"name": segment.name, "rule": segment.rule} | ({"was": before} if replaced else {}))
    return {"segment": segment.name, "rule": segment.rule, "understood_as": str(parse_rule(segment.rule)),
            "replaced": replaced, **_counts(session, segment)}


def count(session: Session, actor: Actor, name: str) -> dict[str, Any]:
    require(actor, READ)
    segment = saved.get_segment(session, name)
    return {"segment": segment.name, "rule": segment.rule, **_counts(session, segment)}


def list_all(session: Session, actor: Actor, *, with_counts: bool = False) -> list[dict[str, Any]]:
    """Every saved segment by name; `with_counts` adds each one's counts (one query per segment)."""
    require(actor, READ)
    rows = []
    for segment in saved.list_segments(session):
        row = {"name": segment.name, "rule": segment.rule, "created_at": segment.created_at.isoformat()}
        if with_counts:
            row.update(_counts(session, segment))
        rows.append(row)
    return rows


def show(session: Session, actor: Actor, name: str, *, limit: int = 20) -> dict[str, Any]:
    """A segment's rule, counts and its first `limit` recipients (by id)."""
    require(actor, READ)
    segment = saved.get_segment(session, name)
    match = saved.segment_expression(session, segment)
    sample = resolve.sample_recipients(session, match, max(0, min(limit, MAX_SAMPLE))) if limit else []
    return {"segment": segment.name, "rule": segment.rule, "understood_as": str(parse_rule(segment.rule)),
            "created_at": segment.created_at.isoformat(), **resolve.count_matching(session, match),
            "sample": [_sample_row(c) for c in sample]}


def _sample_row(contact: Contact) -> dict[str, Any]:
    return {"email": contact.email, "name": contact.name, "outlet": contact.outlet}


def remove(session: Session, actor: Actor, name: str) -> dict[str, Any]:
    """Delete a saved segment; contacts are not touched."""
    require(actor, EDIT)
    segment = saved.get_segment(session, name)
    gone = {"segment": segment.name, "rule": segment.rule}
    audit.record(session, actor, "segment.remove", f"segment:{segment.id}", gone)
    saved.remove_segment(session, segment.name)
    return gone
