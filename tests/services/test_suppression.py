"""The suppression service: only an admin changes or reads the list; every change is audited."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from distribute.errors import Forbidden, NotFound, UserError
from distribute.models import AuditEntry, Contact
from distribute.services import suppression
from distribute.services.actor import ADMIN, COMMS, VIEWER, Actor

ADMIN_ACTOR = Actor("ada@example.org", ADMIN, via="web")


@pytest.mark.parametrize("role", [VIEWER, COMMS])
def test_only_an_admin_touches_the_list(db, role):
    actor = Actor("someone@example.org", role, via="web")
    with db.sessions.begin() as s:
        suppression.add(s, ADMIN_ACTOR, emails=["jane@example.org"], reason="asked")
    with db.sessions.begin() as s:
        for call in (lambda: suppression.add(s, actor, emails=["x@example.org"], reason="r"),
                     lambda: suppression.remove(s, actor, "jane@example.org"),
                     lambda: suppression.list_page(s, actor),
                     lambda: suppression.count(s, actor)):
            with pytest.raises(Forbidden):
                call()
    with db.sessions() as s:
        assert s.scalars(select(AuditEntry.action)).all() == ["suppression.add"]


def test_add_from_addresses_and_a_file_reports_per_line(db):
    file = io.StringIO("email,name\nb@example.org,B\nbroken,X\nJane@Example.org,J\n")
    with db.sessions.begin() as s:
        report = suppression.add(s, ADMIN_ACTOR, emails=["jane@example.org", "nope"], file=file, reason=" phoned ")
    # Jane, added by this very call, is not also reported as already suppressed.
    assert (report["added"], report["already"], report["repeated"]) == (["jane@example.org", "b@example.org"], [], 0)
    assert [(r["line"], r["value"]) for r in report["invalid"]] == [(None, "nope"), (3, "broken")]
    assert report["invalid"][1]["reason"].startswith("invalid email address 'broken'")
    with db.sessions() as s:
        entry = s.scalars(select(AuditEntry)).one()
    assert (entry.actor, entry.via, entry.action) == ("ada@example.org", "web", "suppression.add")
    assert entry.detail == {"added": 2, "already": 0, "invalid": 2, "source": "manual, import", "reason": "phoned",
                            "emails": ["jane@example.org", "b@example.org"]}
    with db.sessions.begin() as s, pytest.raises(UserError) as nothing:
        suppression.add(s, ADMIN_ACTOR, reason="x")
    assert nothing.value.field == "emails"
    with db.sessions.begin() as s, pytest.raises(UserError) as no_reason:
        suppression.add(s, ADMIN_ACTOR, emails=["c@example.org"], reason=" ")
    assert no_reason.value.field == "reason"


def test_list_pages_by_address_and_remove_says_the_contact_status(db):
    with db.sessions.begin() as s:
        s.add(Contact(email="c@example.org", email_key="c@example.org", kind="journalist", status="unsubscribed"))
        suppression.add(s, ADMIN_ACTOR, emails=[f"{x}@example.org" for x in "dcba"], reason="old list")
    with db.sessions() as s:
        first = suppression.list_page(s, ADMIN_ACTOR, limit=2)
        assert [r["email"] for r in first] == ["a@example.org", "b@example.org"]
        assert set(first[0]) == {"email", "reason", "source", "created_at"}
        rest = suppression.list_page(s, ADMIN_ACTOR, limit=2, after=first[-1]["email"])
        assert [r["email"] for r in rest] == ["c@example.org", "d@example.org"]
        assert suppression.count(s, ADMIN_ACTOR) == 4
    with db.sessions.begin() as s:
        removed = suppression.remove(s, ADMIN_ACTOR, "C@example.org")
    assert (removed["email"], removed["reason"], removed["contact_status"]) == ("c@example.org", "old list", "unsubscribed")
    with db.sessions.begin() as s, pytest.raises(NotFound) as gone:
        suppression.remove(s, ADMIN_ACTOR, "c@example.org")
    assert gone.value.field == "email"
    with db.sessions() as s:
        removal = s.scalars(select(AuditEntry).where(AuditEntry.action == "suppression.remove")).one()
    assert removal.target == "suppression:c@example.org" and removal.detail == {"was": "manual", "reason": "old list"}
