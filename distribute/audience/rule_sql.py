"""Segment rule conditions compiled to SQLAlchemy boolean expressions over `Contact`.

Values only ever reach the database as bound parameters; no SQL is built from strings. String
comparisons are case-insensitive: people type "Middle East" and "middle east" and mean the same
beat.

Every comparison is two-valued: a contact with no beat is simply not equal to "middle east", so
`not beat = "middle east"` and `beat != "middle east"` include it, where plain SQL NULL logic
would silently drop it.
"""

from __future__ import annotations

import difflib
from typing import Iterable

from sqlalchemy import ColumnElement, String, exists, func, not_, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from distribute.contacts.addresses import InvalidAddress, normalise
from distribute.models import Contact, ContactList, ContactTag, ListMember
from distribute.audience.conditions import COLUMN_FIELDS, EQUALITY_OPS, Condition
from distribute.audience.rule_errors import UnknownList, quote

class EmailDomain(FunctionElement):
    """The part of an email key after the @ (keys are lowercase, with exactly one @)."""

    type = String()
    name = "email_domain"
    inherit_cache = True


@compiles(EmailDomain)
def _email_domain_default(element, compiler, **kw):
    (arg,) = element.clauses
    key = compiler.process(arg, **kw)
    return f"substr({key}, instr({key}, '@') + 1)"


@compiles(EmailDomain, "postgresql")
def _email_domain_postgresql(element, compiler, **kw):
    (arg,) = element.clauses
    return f"split_part({compiler.process(arg, **kw)}, '@', 2)"


def condition_sql(cond: Condition) -> ColumnElement[bool]:
    """One condition as a boolean over Contact (correlated EXISTS for tags and lists)."""
    if cond.field == "tag":
        return _membership(cond, select(ContactTag.contact_id).where(ContactTag.contact_id == Contact.id), ContactTag.tag)
    if cond.field == "list":
        members = (
            select(ListMember.contact_id)
            .join(ContactList, ContactList.id == ListMember.list_id)
            .where(ListMember.contact_id == Contact.id)
        )
        return _membership(cond, members, ContactList.name)
    values = cond.values
    if cond.field in ("email", "domain") and cond.op in EQUALITY_OPS:
        values = tuple(_as_stored(cond.field, v) for v in values)
    positive = _predicate(cond.op, _text(_column(cond)), values)
    return not_(positive) if _is_negative(cond.op) else positive


def _column(cond: Condition) -> ColumnElement:
    if cond.field == "attr":
        return Contact.attributes[cond.attr].as_string()
    if cond.field == "domain":
        return EmailDomain(Contact.email_key)
    return COLUMN_FIELDS[cond.field]


def _as_stored(field_name: str, value: str) -> str:
    """An address or domain as keys store it (IDNA domain), so `domain = bücher.de` matches."""
    try:
        if field_name == "email":
            return normalise(value)[1]
        return normalise(f"x@{value}")[1].partition("@")[2]
    except InvalidAddress:
        return value  # not an address: compared as typed, and simply matches nothing


def _text(column) -> ColumnElement[str]:
    # coalesce: a missing value compares as the empty string, never as NULL (see the module doc).
    return func.coalesce(column, "", type_=String())


def _is_negative(op: str) -> bool:
    return op == "!=" or op.startswith("not ") or op == "is not empty"


def _predicate(op: str, column: ColumnElement[str], values: tuple[str, ...]) -> ColumnElement[bool]:
    """The positive form of `op` (`!=` → `=`, `not in` → `in`, …), ignoring case.

    Values are lowered in Python rather than in SQL, and when lowering changed them the value as
    typed is accepted too: SQLite's lower() folds ASCII only, so "Économie" stays "Économie"
    there, and lower(:value) = lower(column) would miss what the user typed exactly.
    """
    base = op.removeprefix("not ").replace("!=", "=").replace("is not empty", "is empty")
    if base == "is empty":
        return func.trim(column) == ""
    lowered = tuple(v.lower() for v in values)
    match = _compare(base, func.lower(column, type_=String()), lowered)
    if lowered != values:
        match = or_(match, _compare(base, column, values))
    return match


def _compare(base: str, target: ColumnElement[str], values: tuple[str, ...]) -> ColumnElement[bool]:
    if base == "=":
        return target == values[0]
    if base == "in":
        return target.in_(values)
    if base == "contains":
        return target.contains(values[0], autoescape=True)
    if base == "startswith":
        return target.startswith(values[0], autoescape=True)
    if base == "endswith":
        return target.endswith(values[0], autoescape=True)
    raise AssertionError(f"unhandled operator {base!r}")


def _membership(cond: Condition, rows, name_column) -> ColumnElement[bool]:
    """tag/list conditions: does the contact have a tag (be in a list) that matches?

    `tag != x` means "has no tag x", `tag is empty` means "has no tags at all".
    """
    if cond.op in ("is empty", "is not empty"):
        has_any = exists(rows).correlate(Contact)
        return not_(has_any) if cond.op == "is empty" else has_any
    has_match = exists(rows.where(_predicate(cond.op, name_column, cond.values))).correlate(Contact)
    return not_(has_match) if _is_negative(cond.op) else has_match


def check_lists_exist(session: Session, names: Iterable[str], *, line=None, column=None) -> None:
    """Refuse names that match no list, compared as `list = name` compares them (see _predicate)."""
    names = list(dict.fromkeys(names))
    lowered = [name.lower() for name in names]
    rows = session.execute(
        select(ContactList.name, func.lower(ContactList.name)).where(
            or_(func.lower(ContactList.name).in_(lowered), ContactList.name.in_(names))
        )
    ).all()
    exact, folded = {row[0] for row in rows}, {row[1] for row in rows}
    missing = [name for name in names if name not in exact and name.lower() not in folded]
    if not missing:
        return
    known = list(session.scalars(select(ContactList.name).order_by(ContactList.name).limit(50)))
    where = f" (line {line}, column {column})" if line else ""
    plural = "lists" if len(missing) > 1 else "list"
    message = f"no {plural} named {', '.join(quote(m) for m in missing)}{where}"
    suggestion = difflib.get_close_matches(missing[0], known, n=1)
    if suggestion:
        message += f"; did you mean {quote(suggestion[0])}?"
    message += f"; known lists: {', '.join(known)}" if known else "; there are no lists yet"
    raise UnknownList(message, line=line, column=column)
