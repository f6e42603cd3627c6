"""The segments service: roles, the audit log and the shapes every interface presents."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from distribute.audience.rule_errors import RuleError
from distribute.errors import Conflict, Forbidden, NotFound
from distribute.models import AuditEntry, Contact, ContactTag, Suppression
from distribute.services import segments
from distribute.services.actor import ADMIN, COMMS, VIEWER, Actor

VIEWER_ACTOR = Actor("vi@example.org", VIEWER, via="web")
COMMS_ACTOR = Actor("cy@example.org", COMMS, via="web")
ADMIN_ACTOR = Actor("ada@example.org", ADMIN, via="api")


@pytest.fixture
def contacts(db):
    with db.sessions.begin() as s:
        for i, (kind, status) in enumerate([("journalist", "active"), ("journalist", "active"),
                                            ("journalist", "unsubscribed"), ("supporter", "active")]):
            contact = Contact(email=f"p{i}@example.org", email_key=f"p{i}@example.org", kind=kind, status=status)
            s.add(contact)
            s.flush()
            s.add(ContactTag(contact_id=contact.id, tag="climate"))
        s.add(Suppression(email_key="p1@example.org", reason="asked", source="manual"))


def audit_actions(db) -> list[tuple[str, str, str | None]]:
    with db.sessions() as s:
        return [(e.actor, e.action, e.target) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_a_viewer_reads_but_cannot_save_or_remove(db, contacts):
    with db.sessions.begin() as s:
        checked = segments.check(s, VIEWER_ACTOR, "kind = journalist and tag = climate")
        assert checked == {"rule": "kind = journalist and tag = climate",
                           "understood_as": 'kind = "journalist" and tag = "climate"',
                           "matched": 3, "suppressed": 1, "inactive": 1, "recipients": 1}
        with pytest.raises(Forbidden):
            segments.add(s, VIEWER_ACTOR, "press", "kind = journalist")
    with db.sessions.begin() as s:
        segments.add(s, COMMS_ACTOR, "press", "kind = journalist")
    with db.sessions.begin() as s:
        assert segments.count(s, VIEWER_ACTOR, "press")["recipients"] == 1
        assert [r["name"] for r in segments.list_all(s, VIEWER_ACTOR)] == ["press"]
        with pytest.raises(Forbidden):
            segments.remove(s, VIEWER_ACTOR, "press")
    assert audit_actions(db) == [("cy@example.org", "segment.add", "segment:1")]


def test_add_replace_remove_are_audited_with_the_rules(db, contacts):
    with db.sessions.begin() as s:
        added = segments.add(s, COMMS_ACTOR, " press ", "kind = journalist")
    assert added == {"segment": "press", "rule": "kind = journalist", "understood_as": 'kind = "journalist"',
                     "replaced": False, "matched": 3, "suppressed": 1, "inactive": 1, "recipients": 1}
    with db.sessions.begin() as s, pytest.raises(Conflict) as taken:
        segments.add(s, COMMS_ACTOR, "press", "kind = supporter")
    assert taken.value.field == "name" and "already exists" in str(taken.value) and "--" not in str(taken.value)
    with db.sessions.begin() as s:
        assert segments.add(s, COMMS_ACTOR, "press", "kind = supporter", replace=True)["replaced"] is True
        segments.add(s, ADMIN_ACTOR, "press", "kind = supporter", replace=True)  # the same rule: no change
    with db.sessions.begin() as s:
        assert segments.remove(s, ADMIN_ACTOR, "press") == {"segment": "press", "rule": "kind = supporter"}
    assert audit_actions(db) == [
        ("cy@example.org", "segment.add", "segment:1"),
        ("cy@example.org", "segment.replace", "segment:1"),
        ("ada@example.org", "segment.remove", "segment:1"),
    ]
    with db.sessions() as s:
        replaced = s.scalars(select(AuditEntry.detail).where(AuditEntry.action == "segment.replace")).one()
        assert replaced == {"name": "press", "rule": "kind = supporter", "was": "kind = journalist"}
        via = s.scalars(select(AuditEntry.via).where(AuditEntry.action == "segment.remove")).one()
        assert via == "api"


def test_errors_carry_a_field_and_where_the_rule_goes_wrong(db, contacts):
    with db.sessions() as s:
        with pytest.raises(RuleError) as bad:
            segments.check(s, VIEWER_ACTOR, "kind = journalist and\n  beets = x")
        assert (bad.value.code, bad.value.field, bad.value.line, bad.value.column) == ("bad_rule", "rule", 2, 3)
        assert bad.value.as_dict()["line"] == 2
        with pytest.raises(RuleError) as unknown_list:
            segments.check(s, VIEWER_ACTOR, "list = nowhere")
        assert unknown_list.value.field == "rule"
        with pytest.raises(NotFound) as missing:
            segments.count(s, VIEWER_ACTOR, "nothing")
        assert missing.value.field == "segment"


def test_show_samples_recipients_only(db, contacts):
    with db.sessions.begin() as s:
        segments.add(s, COMMS_ACTOR, "climate", "tag = climate")
    with db.sessions() as s:
        shown = segments.show(s, VIEWER_ACTOR, "climate", limit=10)
        listed = segments.list_all(s, VIEWER_ACTOR, with_counts=True)
    assert [row["email"] for row in shown["sample"]] == ["p0@example.org", "p3@example.org"]
    assert set(shown["sample"][0]) == {"email", "name", "outlet"}
    assert (shown["matched"], shown["recipients"]) == (4, 2)
    assert listed[0]["recipients"] == 2 and set(listed[0]) >= {"name", "rule", "created_at", "matched"}
