"""The states of campaigns and deliveries, and the moves allowed between them: one table each.

Bulk updates take their allowed source states from these tables (`sources(...)`), so a SQL
`UPDATE … WHERE state IN (…)` can never make a move the table forbids; a move that is not in the
table is a no-op there and an error in single-row code.
"""

from __future__ import annotations


class IllegalTransition(Exception):
    pass


# --- campaigns ---------------------------------------------------------------------------------
DRAFT, SCHEDULED, SENDING, PAUSED, SENT, CANCELLED, FAILED = (
    "draft", "scheduled", "sending", "paused", "sent", "cancelled", "failed",
)

CAMPAIGN_TRANSITIONS: dict[str, frozenset[str]] = {
    DRAFT: frozenset({SCHEDULED, SENDING, CANCELLED}),
    SCHEDULED: frozenset({SENDING, PAUSED, CANCELLED}),
    SENDING: frozenset({SENT, PAUSED, CANCELLED, FAILED}),
    PAUSED: frozenset({SENDING, SCHEDULED, CANCELLED}),
    # A finished campaign can be sent again only to the recipients that `retry` re-queues.
    SENT: frozenset({SENDING}),
    FAILED: frozenset({SENDING, CANCELLED}),
    CANCELLED: frozenset(),
}

# --- deliveries --------------------------------------------------------------------------------
QUEUED = "queued"          # waiting for a worker (on the broker, or about to be)
DELIVERY_SENDING = "sending"  # claimed by a worker under a lease
DEFERRED = "deferred"      # a temporary failure; tried again at next_attempt_at
DELIVERED = "sent"         # the receiving server accepted it
BOUNCED = "bounced"        # refused for good (5xx)
DELIVERY_FAILED = "failed"  # temporary failures until its lifetime ran out, or it could not be built
SUPPRESSED = "suppressed"  # never sent: suppressed, unsubscribed or inactive
SKIPPED = "skipped"        # never sent: the address already has this release from another campaign
DELIVERY_CANCELLED = "cancelled"
UNKNOWN = "unknown"        # a worker died between starting the SMTP transaction and reading the reply
COMPLAINED = "complained"  # delivered, then reported as spam by the recipient (ARF or an ESP)

DELIVERY_TRANSITIONS: dict[str, frozenset[str]] = {
    QUEUED: frozenset({DELIVERY_SENDING, SUPPRESSED, DELIVERY_CANCELLED}),
    DELIVERY_SENDING: frozenset({DELIVERED, DEFERRED, BOUNCED, DELIVERY_FAILED, SUPPRESSED, DELIVERY_CANCELLED, QUEUED, UNKNOWN}),
    DEFERRED: frozenset({QUEUED, DELIVERY_CANCELLED}),
    # Operator decisions: `campaigns retry` re-queues failed ones, `retry --unknown` unknown ones.
    DELIVERY_FAILED: frozenset({QUEUED}),
    # A late signal settles an unknown outcome: a DSN or an ESP's "delivered"/"bounced" event.
    UNKNOWN: frozenset({QUEUED, DELIVERY_CANCELLED, DELIVERED, BOUNCED}),
    # After a relay accepted it, a message can still bounce (an asynchronous DSN) or be reported
    # as spam. Nothing goes back: a "delivered" after a "bounced" is a late event, a no-op.
    DELIVERED: frozenset({BOUNCED, COMPLAINED}),
    BOUNCED: frozenset(),
    COMPLAINED: frozenset(),
    SUPPRESSED: frozenset(),
    SKIPPED: frozenset(),
    DELIVERY_CANCELLED: frozenset(),
}

DELIVERY_STATES = (QUEUED, DELIVERY_SENDING, DEFERRED, DELIVERED, BOUNCED, COMPLAINED, DELIVERY_FAILED, UNKNOWN,
                   SUPPRESSED, SKIPPED, DELIVERY_CANCELLED)
assert set(DELIVERY_STATES) == set(DELIVERY_TRANSITIONS)
UNFINISHED = frozenset({QUEUED, DELIVERY_SENDING, DEFERRED})
# A delivery in one of these means its address has the release, or will have it: sent (a
# complaint comes after sending), on its way, or possibly sent (`unknown`). Fan-out of another
# campaign of the same release skips such an address: one release, one copy per address.
HAS_RELEASE = frozenset({QUEUED, DELIVERY_SENDING, DEFERRED, DELIVERED, COMPLAINED, UNKNOWN})


def sources(table: dict[str, frozenset[str]], target: str) -> tuple[str, ...]:
    """Every state from which `target` may be reached."""
    return tuple(sorted(state for state, targets in table.items() if target in targets))


def check(table: dict[str, frozenset[str]], current: str, target: str) -> None:
    if target not in table[current]:
        raise IllegalTransition(f"cannot go from {current} to {target}")


# --- what comes back after sending -------------------------------------------------------------
# One vocabulary for every source (SMTP reply, DSN, ARF report, ESP webhook, pixel, link, the
# unsubscribe page), after django-anymail's. Each maps to the delivery state it moves to, if any;
# the move still has to be in DELIVERY_TRANSITIONS, so a duplicate or late signal is a no-op.
FEEDBACK_TYPES = ("delivered", "bounced", "deferred", "complained", "opened", "clicked", "unsubscribed", "rejected")
FEEDBACK_STATE: dict[str, str | None] = {
    "delivered": DELIVERED,
    "bounced": BOUNCED,
    "complained": COMPLAINED,
    # Engagement is counted on the delivery, not a state: a message can be opened, clicked and
    # unsubscribed from in any order, any number of times.
    "opened": None, "clicked": None, "unsubscribed": None,
    # A delay warning, or an ESP that refused before sending (it keeps its own suppression
    # list): worth keeping, but it does not settle the delivery.
    "deferred": None, "rejected": None,
}
assert set(FEEDBACK_STATE) == set(FEEDBACK_TYPES)


# Feedback moves only deliveries whose SMTP transaction is over: a row still `sending` belongs to
# the worker holding its lease (a fast ESP's "delivered" must not take it from under the worker,
# which would then lose its reply and Message-ID). Every move here is also in DELIVERY_TRANSITIONS.
FEEDBACK_TRANSITIONS: dict[str, frozenset[str]] = {
    DELIVERED: frozenset({BOUNCED, COMPLAINED}),
    UNKNOWN: frozenset({DELIVERED, BOUNCED}),
}
assert all(targets <= DELIVERY_TRANSITIONS[state] for state, targets in FEEDBACK_TRANSITIONS.items())


def feedback_target(current: str, type_: str) -> str | None:
    """The state a feedback signal moves a delivery to, or None when it does not move it."""
    target = FEEDBACK_STATE[type_]
    return target if target and target in FEEDBACK_TRANSITIONS.get(current, frozenset()) else None
