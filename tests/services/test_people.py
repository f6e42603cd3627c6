"""One contact through the services: roles, unsubscribe as the link does, erase keeping the
address suppressed, the data export; and an import job's report."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import OperationalError

from distribute.errors import Forbidden, NotFound
from distribute.models import AuditEntry, Campaign, Contact, ContactTag, Delivery, Event, Release, Suppression, utcnow
from distribute.services import contacts, imports, people
from distribute.services.actor import ADMIN, COMMS, VIEWER, Actor

VIEWER_ACTOR, COMMS_ACTOR, ADMIN_ACTOR = (Actor(f"{r}@example.org", r, via="web") for r in (VIEWER, COMMS, ADMIN))


@pytest.fixture
def ann(db):
    with db.sessions.begin() as s:
        contact = Contact(email="Ann@example.org", email_key="ann@example.org", kind="journalist", name="Ann Lee",
                          outlet="Daily Post", language="en")
        s.add(contact)
        s.flush()
        s.add(ContactTag(contact_id=contact.id, tag="climate"))
        return contact.id


def test_roles_for_one_contact(db, ann):
    with db.sessions.begin() as s:
        assert people.get(s, VIEWER_ACTOR, ann)["tags"] == ["climate"]
        for call in (lambda: people.unsubscribe(s, VIEWER_ACTOR, ann),
                     lambda: people.suppress(s, COMMS_ACTOR, ann, "r"),
                     lambda: people.erase(s, COMMS_ACTOR, ann)):
            with pytest.raises(Forbidden):
                call()
        with pytest.raises(NotFound):
            people.get(s, VIEWER_ACTOR, ann + 1)


def test_unsubscribe_then_erase_keeps_the_address_suppressed(db, ann):
    with db.sessions.begin() as s:
        assert people.unsubscribe(s, COMMS_ACTOR, ann) == {"id": ann, "status": "unsubscribed"}
    with db.sessions.begin() as s:
        exported = people.export(s, VIEWER_ACTOR, ann)
    assert exported["contact"]["email"] == "Ann@example.org" and exported["contact"]["suppression"]["source"] == "unsubscribe"
    with db.sessions.begin() as s:
        assert people.erase(s, ADMIN_ACTOR, ann)["erased"]
    with db.sessions() as s:
        assert s.scalar(select(Contact.id)) is None and s.scalar(select(ContactTag.tag)) is None
        assert s.scalars(select(Suppression.email_key)).all() == ["ann@example.org"]
        actions = s.execute(select(AuditEntry.actor, AuditEntry.action)).all()
    assert actions == [("comms@example.org", "contact.unsubscribe"), ("viewer@example.org", "contact.export"),
                       ("admin@example.org", "contact.erase")]


def _until_one_waits_for_a_lock(probe) -> None:
    """Until a session of this database waits for a row lock (10 s at most)."""
    deadline = time.monotonic() + 10
    while not probe.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                "AND wait_event_type = 'Lock'")) and time.monotonic() < deadline:
        probe.rollback()
        time.sleep(0.05)


def _anns_delivery(db, ann: int, state: str) -> int:
    """On PostgreSQL (the tests of row locks skip SQLite, which has one writer): a delivery of a
    release to Ann in `state`, its id."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks: one SQLite writer at a time")
    with db.sessions.begin() as s:
        release = Release(slug="r", title="T", body="B\n", source_format="markdown", language="en", contacts=[])
        s.add(release)
        s.flush()
        campaign = Campaign(ref="c", release_id=release.id, variant="journalist", state=state, audience={})
        s.add(campaign)
        s.flush()
        delivery = Delivery(campaign_id=campaign.id, contact_id=ann, ref="d", email="Ann@example.org",
                            email_key="ann@example.org", domain="example.org", outlet="Daily Post", state=state)
        s.add(delivery)
        s.flush()
        return delivery.id


def test_an_erase_takes_the_persons_deliveries_before_the_suppression_list(db, ann):
    """The sender writes a hard bounce in one transaction: the delivery, then the suppression of
    its address. An erase of the same person takes the person's deliveries first too, so one of
    the two waits for the other; taking the suppression list first, it deadlocked with the bounce."""
    delivery_id = _anns_delivery(db, ann, "sending")
    erased = []

    def erase():
        with db.sessions.begin() as s:
            erased.append(people.erase(s, ADMIN_ACTOR, ann))

    with db.engine.connect() as sender, db.engine.connect() as probe:
        sender.execute(select(Delivery.id).where(Delivery.id == delivery_id).with_for_update())  # a bounce being written
        eraser = threading.Thread(target=erase)
        eraser.start()
        _until_one_waits_for_a_lock(probe)
        try:  # what the bounce takes next: the address's place on the suppression list
            probe.execute(text("SET LOCAL lock_timeout = '200ms'"))  # shorter than PostgreSQL's deadlock check
            probe.execute(pg_insert(Suppression).values(email_key="ann@example.org", reason="hard bounce",
                                                        source="hard-bounce", created_at=utcnow())
                          .on_conflict_do_nothing())
            held = False
        except OperationalError:
            held = True
        probe.rollback()
        sender.rollback()
        eraser.join(timeout=30)
    assert not held, "the erase held the address on the suppression list while it waited for the delivery"
    assert erased and erased[0]["erased"]


def test_an_erase_that_postgresql_ends_to_break_a_deadlock_is_run_again(db, ann):
    """Another writer (the retention purge's or the sweep's bulk writes lock rows in their own
    order) holds the person's event and wants their delivery, while the erase holds the delivery
    and wants the event. PostgreSQL ends one of the two: here the erase, whose deadlock check
    comes first (the other side's is set to 30 s). The erase runs again and succeeds, once,
    rather than failing for the operator."""
    delivery_id = _anns_delivery(db, ann, "sent")
    with db.sessions.begin() as s:
        s.add(Event(delivery_id=delivery_id, campaign_id=s.get(Delivery, delivery_id).campaign_id, type="opened",
                    source="pixel", user_agent="Mail/1.0", ip="192.0.2.1"))
    erased, failed = [], []

    def erase():
        try:
            with db.sessions.begin() as s:
                erased.append(people.erase(s, ADMIN_ACTOR, ann))
        except OperationalError as exc:
            failed.append(exc)

    with db.engine.connect() as purge, db.engine.connect() as probe:
        purge.execute(text("SET LOCAL deadlock_timeout = '30s'"))
        purge.execute(update(Event).where(Event.delivery_id == delivery_id).values(raw=None))  # holds the event
        eraser = threading.Thread(target=erase)
        eraser.start()
        _until_one_waits_for_a_lock(probe)
        purge.execute(select(Delivery.id).where(Delivery.id == delivery_id).with_for_update())  # the cycle
        purge.commit()
        eraser.join(timeout=30)
    assert not failed, failed
    assert erased and erased[0]["erased"]
    with db.sessions() as s:
        assert s.scalar(select(Contact.id).where(Contact.id == ann)) is None
        assert s.scalar(select(Event.ip)) is None
        assert s.scalars(select(Suppression.email_key)).all() == ["ann@example.org"]
        assert s.scalars(select(AuditEntry.action)).all() == ["contact.erase"]


def test_browse_searches_prefixes_and_pages(db, ann):
    with db.sessions.begin() as s:
        for i in range(3):
            s.add(Contact(email=f"x{i}@example.org", email_key=f"x{i}@example.org", kind="supporter", name="Daily 50%"))
    with db.sessions() as s:
        assert [c["id"] for c in contacts.browse(s, VIEWER_ACTOR, q="DAILY P")["contacts"]] == [ann]
        assert len(contacts.browse(s, VIEWER_ACTOR, q="daily 50%")["contacts"]) == 3
        assert contacts.browse(s, VIEWER_ACTOR, q="daily 5_")["contacts"] == []  # "_" is a character, not a wildcard
        first = contacts.browse(s, VIEWER_ACTOR, kind="supporter", limit=2)
        rest = contacts.browse(s, VIEWER_ACTOR, kind="supporter", limit=2, before=first["next"])
        assert len(first["contacts"]) == 2 and len(rest["contacts"]) == 1 and rest["next"] is None
        assert contacts.browse(s, VIEWER_ACTOR, tag="Climate", language="en")["contacts"][0]["id"] == ann


def test_an_import_job_keeps_its_progress_and_report(db, tmp_path):
    path = tmp_path / "up.csv"
    path.write_bytes(b"email\na@example.org\nbroken\n")
    job = imports.start(db.sessions, COMMS_ACTOR, str(path), file_name="up.csv", kind="journalist",
                        run=lambda work: work())
    assert job["state"] == "running" and not path.exists()
    with db.sessions() as s:
        done = imports.get(s, VIEWER_ACTOR, job["id"])
    assert (done["state"], done["percent"], done["report"]["imported"]) == ("done", 100, 1)
    assert done["report"]["skipped"][0]["line"] == 3
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"")
    failed = imports.start(db.sessions, COMMS_ACTOR, str(bad), file_name="bad.csv", kind="journalist",
                           run=lambda work: work())
    with db.sessions() as s:
        assert "empty" in imports.get(s, VIEWER_ACTOR, failed["id"])["error"]
