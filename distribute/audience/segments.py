"""Saved segments: rules over contacts, kept under a name.

The rule language is `distribute.audience.rules` (grammar, parsing, the tree), compiled to SQL by
`distribute.audience.rule_sql`, with its errors in `distribute.audience.rule_errors`. A saved rule is checked
when it is saved and again whenever it is used, since the lists it names may have gone since.

The rule names most callers need are re-exported here, so `from distribute.audience.segments import …`
keeps working for them.
"""

from __future__ import annotations

import difflib

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from distribute.audience.conditions import Condition
from distribute.audience.rule_errors import RuleError, UnknownList, quote
from distribute.audience.rule_sql import EmailDomain, check_lists_exist
from distribute.audience.rules import EXAMPLE_RULE, KINDS, KNOWN_FIELDS, And, Not, Or, compile_rule, parse_rule
from distribute.errors import Conflict, NotFound, UserError
from distribute.models import Segment

__all__ = [
    # saved segments
    "SegmentExists",
    "SegmentNotFound",
    "add_segment",
    "find_segment",
    "get_segment",
    "list_segments",
    "remove_segment",
    "segment_expression",
    # re-exported from the rule modules
    "EXAMPLE_RULE",
    "KINDS",
    "KNOWN_FIELDS",
    "And",
    "Condition",
    "EmailDomain",
    "Not",
    "Or",
    "RuleError",
    "UnknownList",
    "check_lists_exist",
    "compile_rule",
    "parse_rule",
]


class SegmentNotFound(NotFound):
    pass


class SegmentExists(Conflict):
    pass


def _clean_name(name: str) -> str:
    cleaned = (name or "").strip()
    if not cleaned:
        raise UserError("a segment needs a name", field="name")
    if len(cleaned) > 200:
        raise UserError("a segment name can be at most 200 characters", field="name")
    return cleaned


def add_segment(session: Session, name: str, rule: str, replace: bool = False) -> Segment:
    """Save a rule under a name, after checking it parses and that its lists exist.

    An existing segment of that name is refused (SegmentExists) unless `replace` is true.
    """
    name = _clean_name(name)
    parsed = parse_rule(rule)
    parsed.check(session)
    segment = session.scalar(select(Segment).where(Segment.name == name))
    if segment is not None and not replace:
        raise SegmentExists(f"a segment named {quote(name)} already exists (rule: {segment.rule})", field="name")
    if segment is None:
        segment = Segment(name=name, rule=parsed.text)
        session.add(segment)
    else:
        segment.rule = parsed.text
    session.flush()
    return segment


def find_segment(session: Session, name: str) -> Segment | None:
    return session.scalar(select(Segment).where(Segment.name == (name or "").strip()))


def get_segment(session: Session, name: str) -> Segment:
    segment = session.scalar(select(Segment).where(Segment.name == name))
    if segment is not None:
        return segment
    known = list(session.scalars(select(Segment.name).order_by(Segment.name)))
    message = f"no segment named {quote(name)}"
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        message += f"; did you mean {quote(close[0])}?"
    message += f"; known segments: {', '.join(known)}" if known else "; there are no segments yet"
    raise SegmentNotFound(message, field="segment")


def list_segments(session: Session) -> list[Segment]:
    return list(session.scalars(select(Segment).order_by(Segment.name)))


def remove_segment(session: Session, name: str) -> None:
    session.delete(get_segment(session, name))
    session.flush()


def segment_expression(session: Session, segment: Segment | str) -> ColumnElement[bool]:
    """The saved rule of a segment as a boolean over Contact, re-checked against today's lists."""
    if isinstance(segment, str):
        segment = get_segment(session, segment)
    try:
        return compile_rule(segment.rule, session)
    except RuleError as exc:
        raise type(exc)(
            f"segment {quote(segment.name)} can no longer be used: {exc}", line=exc.line, column=exc.column
        ) from None
