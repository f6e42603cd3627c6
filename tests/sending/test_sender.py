"""A worker's batch (Sender.send_batch) on one thread, against a real SMTP server, on both
databases: what a cancel in the middle of it leaves behind.

The pipeline end to end (Celery workers, Redis) is in tests/sending/test_pipeline.py."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from distribute import states
from distribute.audience.segments import add_segment
from distribute.models import Contact, Delivery, Event, Release
from distribute.sending import campaigns as ops
from distribute.sending.fanout import start_campaign
from distribute.sending.ratelimit import NoRateLimit
from distribute.sending import sender as sender_module
from distribute.sending.sender import Sender
from distribute.transport.smtp import SMTPTransport
from counter_helpers import counters_exact_after  # noqa: F401  (autouse: counters equal a recount after each test)
from conftest import NoBroker

ADDRESSES = [f"j{i}@news.example" for i in range(3)]


class CancelledWhileSending:
    """The real SMTP transport, and an operator who cancels the campaign just as the message to
    `address` goes out."""

    def __init__(self, url: str, cancel: Callable[[], None], address: str):
        self.smtp, self.cancel, self.address = SMTPTransport(url, timeout=5), cancel, address

    def send(self, envelope, message):
        if envelope.recipient == self.address:
            self.cancel()
        return self.smtp.send(envelope, message)

    def close(self):
        self.smtp.close()


@pytest.fixture
def campaign_id(db, settings):
    """A started campaign of three journalists, its rows queued (the broker left out)."""
    with db.sessions() as s, s.begin():
        for address in ADDRESSES:
            s.add(Contact(email=address, email_key=address, kind="journalist", outlet="News", attributes={}))
        add_segment(s, "press", "kind = journalist")
        release = Release(slug="r", title="Title", body="Body\n", source_format="markdown", language="en",
                          contacts=[{"email": "press@example.org"}])
        s.add(release)
        s.flush()
        campaign_id = ops.create_campaign(s, release, targets=["press"], variant="journalist", zone=ZoneInfo("UTC")).id
    start_campaign(db.sessions, settings, NoBroker(), campaign_id)
    return campaign_id


@pytest.mark.parametrize("relay, sent, deferred_events", [
    ("accepts", 2, 0),  # the second message goes out; the last is never tried
    ("421", 1, 0),      # the relay goes away: the second message comes back untried
    ("451", 1, 1),      # the relay defers the second message: no retry for a cancelled campaign
])
def test_a_cancel_during_a_batch_settles_every_row_before_the_batch_returns(db, settings, smtp_server, campaign_id,
                                                                           relay, sent, deferred_events, monkeypatch):
    """Whatever the relay answers to the message in flight when the cancel comes, the batch
    leaves every row it claimed sent or cancelled: none waits for its lease to run out in
    `sending`, none goes back to the queue of a cancelled campaign (a cancel's count would be
    short until the next sweep)."""
    # The batch looks at the campaign's state only after a skipped message, not on its clock.
    monkeypatch.setattr(sender_module, "STATE_CHECK_SECONDS", 3600.0)
    if relay != "accepts":
        smtp_server.defer(to=ADDRESSES[1], code=int(relay), text="4.3.2 try again later")

    def cancel():
        with db.sessions() as s, s.begin():
            ops.cancel(s, campaign_id)

    sender = Sender(settings, db.sessions, rate_limiter=NoRateLimit(),
                    transport_factory=lambda: CancelledWhileSending(smtp_server.url, cancel, ADDRESSES[1]))
    with db.sessions() as s:
        ids = s.scalars(select(Delivery.id).where(Delivery.campaign_id == campaign_id).order_by(Delivery.id)).all()
    try:
        sender.send_batch(campaign_id, ids)
    finally:
        sender.close()
    with db.sessions() as s:
        counts = ops.delivery_counts(s, campaign_id)
        deferrals = s.scalar(select(func.count()).select_from(Event).where(Event.type == states.DEFERRED))
    assert counts == {states.DELIVERED: sent, states.DELIVERY_CANCELLED: 3 - sent}
    assert deferrals == deferred_events
    assert len(smtp_server.received) == sent
