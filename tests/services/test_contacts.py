"""The contacts service (import, export, lists): roles, the audit log and the report shapes."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from distribute.errors import Forbidden, NotFound, UserError
from distribute.models import AuditEntry
from distribute.services import contacts, segments
from distribute.services.actor import COMMS, VIEWER, Actor

VIEWER_ACTOR = Actor("vi@example.org", VIEWER, via="web")
COMMS_ACTOR = Actor("cy@example.org", COMMS, via="api")
CSV = b"email,name,outlet\na@example.org,A,Daily\nnot-an-address,B,\nb@example.org,B,Weekly\n"


def upload(data: bytes, name: str = "press.csv") -> io.BytesIO:
    stream = io.BytesIO(data)
    stream.name = name
    return stream


def test_a_viewer_cannot_import(db):
    with pytest.raises(Forbidden):
        contacts.import_csv(db.sessions, VIEWER_ACTOR, upload(CSV), kind="journalist")
    with db.sessions() as s:
        assert s.scalars(select(AuditEntry)).all() == []


def test_import_reports_bad_rows_keeps_good_ones_and_is_audited(db):
    report = contacts.import_csv(db.sessions, COMMS_ACTOR, upload(CSV), kind="journalist", list_name="Desk",
                                 tags=["climate"])
    assert report == {"imported": 2, "updated": 0, "unchanged": 0, "merged": 0, "rows": 3, "list": "Desk",
                      "skipped": [{"line": 3, "reason": report["skipped"][0]["reason"]}]}
    assert "not-an-address" in report["skipped"][0]["reason"]
    with db.sessions() as s:
        entry = s.scalars(select(AuditEntry)).one()
        assert (entry.actor, entry.via, entry.action, entry.target) == ("cy@example.org", "api", "contacts.import",
                                                                        "list:Desk")
        assert entry.detail == {"file": "press.csv", "kind": "journalist", "tags": ["climate"], "rows": 3,
                                "imported": 2, "updated": 0, "unchanged": 0, "merged": 0, "skipped": 1}
        listed = contacts.lists(s, VIEWER_ACTOR)
    assert [(row["name"], row["members"]) for row in listed] == [("Desk", 2)]
    assert set(listed[0]) == {"id", "name", "members", "created_at"}


def test_errors_name_the_field_at_fault(db):
    with pytest.raises(UserError) as kind:
        contacts.import_csv(db.sessions, COMMS_ACTOR, upload(CSV), kind="press")
    assert kind.value.field == "kind"
    with pytest.raises(UserError) as unreadable:
        contacts.import_csv(db.sessions, COMMS_ACTOR, upload(b""), kind="journalist")
    assert unreadable.value.field == "file" and "empty" in str(unreadable.value)
    with db.sessions() as s, pytest.raises(NotFound) as no_list:
        contacts.export_csv(s, VIEWER_ACTOR, io.StringIO(), list_name="Nope")
    assert no_list.value.field == "list" and "distribute" not in str(no_list.value)


def test_export_by_segment_goes_through_the_service_and_is_audited(db):
    contacts.import_csv(db.sessions, COMMS_ACTOR, upload(CSV), kind="journalist")
    with db.sessions.begin() as s:
        segments.add(s, COMMS_ACTOR, "daily", "outlet = Daily")
    out = io.StringIO()
    with db.sessions.begin() as s:
        assert contacts.export_csv(s, VIEWER_ACTOR, out, segment="daily") == 1
    assert [row[0] for row in csv.reader(io.StringIO(out.getvalue()))] == ["email", "a@example.org"]
    with db.sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "contacts.export")).one()
    assert entry.actor == "vi@example.org" and entry.detail == {"segment": "daily", "list": None, "kind": None,
                                                                 "contacts": 1}
