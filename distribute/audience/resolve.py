"""Who would receive: segments and lists resolved to contact ids, in SQL.

Every audience honours the suppression list and the contact's status: a contact is a recipient
only when it matches one of the segments or lists, its status is `active`, and its email key is
not suppressed. All of it is one SELECT over `contacts` (EXISTS subqueries for tags, lists and
suppressions, never joins that could repeat a contact), so the delivery fan-out can stream a
million ids with `yield_per` and keyset batches on `Contact.id`, and nothing is filtered in Python.
"""

from __future__ import annotations

from typing import Iterable

from sqlalchemy import ColumnElement, Select, and_, case, false, func, not_, or_, select
from sqlalchemy.orm import Session, aliased

from distribute import states
from distribute.audience.conditions import Condition
from distribute.audience.rule_sql import condition_sql
from distribute.audience.segments import KINDS, check_lists_exist, get_segment, segment_expression
from distribute.audience.suppression import suppressed
from distribute.db import set_based
from distribute.errors import UserError
from distribute.models import Campaign, Contact, Delivery, Suppression

ACTIVE = "active"


def match_expression(
    session: Session,
    *,
    segments: Iterable[str] = (),
    lists: Iterable[str] = (),
    kinds: Iterable[str] | None = None,
) -> ColumnElement[bool]:
    """Contacts matching ANY of the segments or lists (and, if given, one of `kinds`).

    Unknown segments and lists are refused with a UserError naming them. With no segments and
    no lists, `kinds` alone selects every contact of those kinds; with nothing at all the call is
    refused rather than meaning "everybody".
    """
    segments, lists = _unique(segments), _unique(lists)
    kinds = [kind.lower() for kind in _unique(kinds or ())]
    for kind in kinds:
        if kind not in KINDS:
            raise UserError(f"unknown kind {kind!r}; use {' or '.join(KINDS)}")
    if not (segments or lists or kinds):
        raise UserError("choose an audience: at least one segment, list or kind")
    alternatives = [segment_expression(session, get_segment(session, name)) for name in segments]
    if lists:
        check_lists_exist(session, lists)
        alternatives.append(condition_sql(Condition(field="list", op="in", values=tuple(lists))))
    match = or_(*alternatives) if alternatives else None
    if kinds:
        kind_filter = Contact.kind.in_(kinds)
        match = kind_filter if match is None else and_(match, kind_filter)
    return match if match is not None else false()


def eligible() -> ColumnElement[bool]:
    """Active and not suppressed: what every send must check, whatever the audience."""
    return and_(Contact.status == ACTIVE, not_(suppressed(Contact.email_key)))


def audience_query(
    session: Session,
    *,
    segments: Iterable[str] = (),
    lists: Iterable[str] = (),
    kinds: Iterable[str] | None = None,
) -> Select[tuple[int]]:
    """SELECT of the recipients' Contact.id, ordered by id, each contact once.

    Contacts are unique by email key and the query reads `contacts` alone (tags, lists and
    suppressions are EXISTS tests), so no DISTINCT is needed: a contact in two segments is one
    row. Stream it with `session.execute(q.execution_options(yield_per=1000))` or add
    `Contact.id > last_id` for keyset batches.
    """
    match = match_expression(session, segments=segments, lists=lists, kinds=kinds)
    return recipients_of(match)


def recipients_of(match: ColumnElement[bool]) -> Select[tuple[int]]:
    """The recipient ids of an already compiled match (e.g. an ad hoc rule)."""
    return select(Contact.id).where(match, eligible()).order_by(Contact.id)


def count_audience(
    session: Session,
    *,
    segments: Iterable[str] = (),
    lists: Iterable[str] = (),
    kinds: Iterable[str] | None = None,
) -> dict[str, int]:
    """{"matched", "suppressed", "inactive", "recipients"}; see `count_matching`."""
    return count_matching(session, match_expression(session, segments=segments, lists=lists, kinds=kinds))


def count_matching(session: Session, match: ColumnElement[bool]) -> dict[str, int]:
    """Counts for a match, in one query. The parts add up: matched = suppressed + inactive + recipients.

    - matched: contacts the rule selects, whatever their status;
    - suppressed: of those, the ones on the suppression list (whatever their status);
    - inactive: not suppressed, but unsubscribed, bounced or complained;
    - recipients: the rest, who would be sent to.
    """
    # email_key is unique in suppressions, so the outer join cannot repeat a contact.
    stmt = (
        select(
            func.count(Contact.id),
            func.count(Suppression.id),
            func.coalesce(func.sum(case((and_(Suppression.id.is_(None), Contact.status != ACTIVE), 1), else_=0)), 0),
        )
        .select_from(Contact)
        .outerjoin(Suppression, Suppression.email_key == Contact.email_key)
        .where(match)
    )
    matched, suppressed_count, inactive = session.execute(stmt).one()
    matched, suppressed_count, inactive = int(matched), int(suppressed_count), int(inactive)
    return {
        "matched": matched,
        "suppressed": suppressed_count,
        "inactive": inactive,
        "recipients": matched - suppressed_count - inactive,
    }


def addresses_with_release(session: Session, release_id: int, *, exclude: int | None = None):
    """A subquery of (email_key, campaign_id): each address that another real campaign of this
    release mailed, or is mailing, with the first such campaign. None when the release has no
    other campaign.

    Joined (outer) to the contacts, it is one pass over those campaigns' deliveries, read by the
    (campaign, address) index, and a hash join: no per-contact probe whose plan depends on how
    fresh the table's statistics are.
    """
    campaigns = session.scalars(
        select(Campaign.id).where(Campaign.release_id == release_id, Campaign.is_test.is_(False),
                                  Campaign.id != (exclude if exclude is not None else -1))
    ).all()
    if not campaigns:
        return None
    earlier = aliased(Delivery)
    return (
        select(earlier.email_key.label("email_key"), func.min(earlier.campaign_id).label("campaign_id"))
        .where(earlier.campaign_id.in_(campaigns), earlier.state.in_(states.HAS_RELEASE))
        .group_by(earlier.email_key)
        .subquery("has_release")
    )


def already_have(session: Session, match: ColumnElement[bool], release_id: int) -> int:
    """How many recipients of a match already have the release (see addresses_with_release)."""
    earlier = addresses_with_release(session, release_id)
    if earlier is None:
        return 0
    with set_based(session):
        return session.scalar(
            select(func.count()).select_from(Contact).join(earlier, earlier.c.email_key == Contact.email_key)
            .where(match, eligible())
        ) or 0


def segment_contact_ids(session: Session, name: str) -> Select[tuple[int]]:
    """SELECT of the ids the saved segment's rule matches, ordered by id.

    No status or suppression filter: this is for exports and inspection; sending uses
    `audience_query`.
    """
    return select(Contact.id).where(segment_expression(session, name)).order_by(Contact.id)


def sample_recipients(session: Session, match: ColumnElement[bool], limit: int = 20) -> list[Contact]:
    """The first `limit` recipients (by id) of a match, for a look before sending."""
    return list(session.scalars(select(Contact).where(match, eligible()).order_by(Contact.id).limit(limit)))


def _unique(values: Iterable[str]) -> list[str]:
    if isinstance(values, str):  # a lone name, not a string of one-letter names
        values = [values]
    seen: list[str] = []
    for value in values:
        value = value.strip()
        if value and value not in seen:
            seen.append(value)
    return seen
