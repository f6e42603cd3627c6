"""Postmark webhooks: basic-auth credentials and its records in the vocabulary."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest

from distribute.feedback.webhooks.registry import WebhookInvalid, WebhookRejected

from webhook_helpers import NOW, REF, basic, fixture, post_postmark


@pytest.mark.parametrize(
    "name, expected",
    [
        ("delivery.json", "delivered"),
        ("bounce_hard.json", "bounced"),
        ("bounce_soft.json", "bounced"),
        ("bounce_transient.json", "deferred"),
        ("spam_complaint.json", "complained"),
        ("open.json", "opened"),
        ("click.json", "clicked"),
        ("subscription_change.json", "unsubscribed"),
        ("subscription_change_hard_bounce.json", None),
    ],
)
def test_postmark_record_types_map_to_the_vocabulary(name, expected):
    record = fixture("postmark", name)
    events = post_postmark(record).events
    assert [event.type for event in events] == ([expected] if expected else [])
    for event in events:
        assert event.provider == "postmark" and event.raw == record
        assert event.delivery_ref == REF
        assert event.recipient in ("john@example.com", "bounced-address@wildbit.com")
        assert event.at.utcoffset() == timedelta(0)


def test_postmark_fields():
    def one(name):
        [event] = post_postmark(fixture("postmark", name)).events
        return event

    hard = one("bounce_hard.json")
    assert (hard.bounce_type, hard.event_id) == ("HardBounce", "4323372036854775807")
    assert hard.diagnostic == "smtp;550 5.1.1 The email account that you tried to reach does not exist."
    assert hard.message_id is None  # Postmark's MessageID is its own, not the Message-ID header
    assert hard.at == datetime(2019, 11, 5, 16, 33, 54, 907025, tzinfo=timezone.utc)
    transient = one("bounce_transient.json")
    assert transient.bounce_type == "Transient"
    assert transient.at == datetime(2019, 11, 5, 21, 33, 54, 907025, tzinfo=timezone.utc)  # -05:00 made UTC
    delivered = one("delivery.json")
    assert delivered.message_id == "20191105163354.4f4f@press.example.org"  # from Metadata
    assert delivered.diagnostic is None
    opened = one("open.json")
    assert (opened.ip, opened.user_agent.startswith("Mozilla/5.0 (Windows")) == ("188.2.95.4", True)
    clicked = one("click.json")
    assert (clicked.url, clicked.ip) == ("https://example.com", "192.168.0.1")
    complaint = one("spam_complaint.json")
    assert (complaint.event_id, complaint.bounce_type, complaint.diagnostic) == (
        "42", "SpamComplaint", "Test spam complaint details")
    unsubscribed = one("subscription_change.json")
    assert unsubscribed.diagnostic == "ManualSuppression"


def test_postmark_headers_in_the_payload_give_our_ids():
    record = fixture("postmark", "bounce_soft.json")
    del record["Metadata"]
    record["Headers"] = [{"Name": "Message-ID", "Value": "<20191105.aa@press.example.org>"},
                         {"Name": "X-Distribute-Delivery", "Value": "from-header"}]
    [event] = post_postmark(record).events
    assert (event.message_id, event.delivery_ref) == ("20191105.aa@press.example.org", "from-header")


@pytest.mark.parametrize(
    "bounce_type, expected",
    [("HardBounce", "bounced"), ("SoftBounce", "bounced"), ("Transient", "deferred"), ("DnsError", "bounced"),
     ("SpamNotification", "bounced"), ("Blocked", "bounced"), ("BadEmailAddress", "rejected"),
     ("ManuallyDeactivated", "rejected"), ("Unsubscribe", "unsubscribed"), ("AutoResponder", None),
     ("SomethingNew", "bounced")],
)
def test_postmark_bounce_types(bounce_type, expected):
    record = dict(fixture("postmark", "bounce_hard.json"), Type=bounce_type)
    events = post_postmark(record).events
    assert [event.type for event in events] == ([expected] if expected else [])
    assert all(event.bounce_type == bounce_type for event in events)


def test_postmark_bounce_with_bounced_at_null_is_dated_when_it_arrives():
    """A captured Postmark bounce with "BouncedAt": null: refused, Postmark would retry it."""
    [event] = post_postmark(fixture("postmark", "bounce_bounced_at_null.json")).events
    assert (event.type, event.bounce_type, event.delivery_ref, event.at) == ("bounced", "HardBounce", REF, NOW)
    assert "User unknown" in event.diagnostic
    # A time that is there but is not a time is still malformed.
    with pytest.raises(WebhookInvalid, match="BouncedAt"):
        post_postmark(dict(fixture("postmark", "bounce_bounced_at_null.json"), BouncedAt="yesterday"))


def test_postmark_reactivation_is_not_an_event():
    record = dict(fixture("postmark", "subscription_change.json"), SuppressSending=False)
    assert post_postmark(record).events == []


def test_postmark_wrong_credentials_are_rejected():
    body = fixture("postmark", "delivery.json")
    for headers in (basic("postmark", "guess"), basic("admin", "s3cret-hook-password"),
                    basic("postmark", "s3cret-hook-password-and-more"),
                    {"Authorization": "Basic " + base64.b64encode(b"postmarks3cret-hook-password").decode()}):
        with pytest.raises(WebhookRejected, match="wrong webhook credentials"):
            post_postmark(body, headers)
    with pytest.raises(WebhookRejected, match="not HTTP Basic"):
        post_postmark(body, {"Authorization": "Bearer s3cret-hook-password"})
    with pytest.raises(WebhookRejected, match="base64"):
        post_postmark(body, {"Authorization": "Basic !!!"})
    # Header names in any case.
    lowered = {name.lower(): value for name, value in basic("postmark", "s3cret-hook-password").items()}
    assert len(post_postmark(body, lowered).events) == 1


def test_postmark_missing_credentials_are_rejected():
    with pytest.raises(WebhookRejected, match="no Authorization"):
        post_postmark(fixture("postmark", "delivery.json"), {"Content-Type": "application/json"})


def test_postmark_unconfigured_credentials_reject_everything():
    body = fixture("postmark", "delivery.json")
    for secrets in ({}, {"postmark_username": "postmark"},
                    {"postmark_password": "s3cret-hook-password"}):
        with pytest.raises(WebhookRejected, match="DISTRIBUTE_POSTMARK_USERNAME and DISTRIBUTE_POSTMARK_PASSWORD"):
            post_postmark(body, secrets=secrets)


def test_postmark_malformed_body_is_invalid():
    for body in (b"<xml/>", b"[]", b'{"MessageID": "x"}', json.dumps(dict(fixture("postmark", "delivery.json"),
                                                                           DeliveredAt="last tuesday")).encode()):
        with pytest.raises(WebhookInvalid):
            post_postmark(body)


def test_postmark_same_record_twice_has_the_same_id():
    record = fixture("postmark", "open.json")
    first = post_postmark(record).events[0].event_id
    assert post_postmark(json.dumps(record, indent=4).encode()).events[0].event_id == first
    later_open = dict(record, ReceivedAt="2019-11-05T16:40:00Z")  # every open is posted: another event
    assert post_postmark(later_open).events[0].event_id != first
    assert post_postmark(fixture("postmark", "bounce_hard.json")).events[0].event_id == "4323372036854775807"
