"""What a reporting MTA adds to a DSN's per-recipient fields of its own: its own judgement of
the failure, in a field RFC 3464 section 2.4 ("X-" extension fields) leaves it free to add.

PowerMTA writes "X-PowerMTA-BounceCategory" beside the Status: its classification of the
remote reply, made with the rules its operator keeps for every large receiver. It is read as
the RFC 3463 status that names the same thing, put before the reply when the reply is judged,
so that the reply's own words about our sender (policy, spam, a blocklist) still win over it
(distribute.feedback.replies: a signal about the sender always wins).
"""

from __future__ import annotations

# category -> the RFC 3463 status that says the same (PowerMTA's User's Guide, "bounce
# categories"). Categories that say nothing about the address ("other", "routing-errors",
# "no-answer-from-host", "message-expired", "protocol-errors") are not listed: the reply decides.
_POWERMTA = {
    "bad-mailbox": "5.1.1",
    "bad-domain": "5.1.2",
    "inactive-mailbox": "5.2.1",
    "quota-issues": "5.2.2",
    "spam-related": "5.7.1",
    "policy-related": "5.7.1",
    "content-related": "5.6.0",
    "bad-configuration": "5.3.5",
}
FIELDS = frozenset({"x-powermta-bouncecategory"})


def vendor_status(fields: dict[str, str]) -> str | None:
    """The RFC 3463 status a reporting MTA's own category names, or None."""
    category = (fields.get("x-powermta-bouncecategory") or "").strip().lower()
    return _POWERMTA.get(category)
