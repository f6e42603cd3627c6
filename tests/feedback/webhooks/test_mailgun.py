"""Mailgun webhooks: the HMAC signature, its timestamp window and one-use tokens, and its events
in the vocabulary."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from distribute.feedback.webhooks.registry import WebhookInvalid, WebhookRejected, parse_webhook

from webhook_helpers import MAILGUN_KEY, NOW, REF, MemoryTokens, clock, fixture, mailgun_body, post_mailgun


@pytest.mark.parametrize(
    "name, expected",
    [
        ("accepted.json", None),
        ("delivered.json", "delivered"),
        ("failed_permanent.json", "bounced"),
        ("failed_temporary.json", "deferred"),
        ("failed_suppressed.json", "rejected"),
        ("opened.json", "opened"),
        ("clicked.json", "clicked"),
        ("unsubscribed.json", "unsubscribed"),
        ("complained.json", "complained"),
        ("rejected.json", "rejected"),
    ],
)
def test_mailgun_event_types_map_to_the_vocabulary(name, expected):
    payload = fixture("mailgun", name)
    events = post_mailgun(mailgun_body(payload)).events
    assert [event.type for event in events] == ([expected] if expected else [])
    for event in events:
        data = payload["event-data"]
        assert event.provider == "mailgun" and event.raw == data
        assert event.event_id == data["id"]
        assert event.recipient == "alice@example.com"
        assert event.delivery_ref == REF
        assert event.message_id == data["message"]["headers"]["message-id"]
        assert event.at == datetime.fromtimestamp(data["timestamp"], tz=timezone.utc)


def test_mailgun_failure_and_engagement_fields():
    def one(name):
        [event] = post_mailgun(mailgun_body(fixture("mailgun", name))).events
        return event

    hard = one("failed_permanent.json")
    assert (hard.status, hard.bounce_type) == ("5.1.1", "permanent/bounce")
    assert hard.diagnostic == "550 5.1.1 The email account that you tried to reach does not exist."
    soft = one("failed_temporary.json")
    assert (soft.status, soft.bounce_type) == ("4.2.2", "temporary/generic")
    assert soft.diagnostic == "452 4.2.2 The email account that you tried to reach is over quota."
    suppressed = one("failed_suppressed.json")
    assert suppressed.diagnostic == "605 Not delivering to previously bounced address"
    rejected = one("rejected.json")
    assert rejected.diagnostic == "Sandbox subdomains are for test purposes only."
    clicked = one("clicked.json")
    assert (clicked.url, clicked.ip) == ("https://example.org/act", "50.56.129.169")
    assert clicked.user_agent.startswith("Mozilla/5.0 (X11; Linux")
    delivered = one("delivered.json")
    assert (delivered.status, delivered.diagnostic, delivered.ip) == (None, None, None)


def test_mailgun_forged_signature_is_rejected():
    body = mailgun_body(fixture("mailgun", "delivered.json"), key="someone-elses-key")
    with pytest.raises(WebhookRejected, match="does not match"):
        post_mailgun(body)
    # The documented example's signature, made with Mailgun's sample key, is not ours either.
    with pytest.raises(WebhookRejected):
        post_mailgun(json.dumps(fixture("mailgun", "delivered.json")).encode())
    # The event data is not signed by Mailgun at all, only timestamp + token: a valid signature
    # moved onto other data still verifies (test_mailgun_token_is_good_for_one_event).
    tampered = json.loads(mailgun_body(fixture("mailgun", "delivered.json")))
    tampered["signature"]["token"] = "b" * 50
    with pytest.raises(WebhookRejected, match="does not match"):
        post_mailgun(json.dumps(tampered).encode())


def test_mailgun_missing_signature_is_rejected():
    payload = fixture("mailgun", "delivered.json")
    del payload["signature"]
    with pytest.raises(WebhookRejected, match="no signature"):
        post_mailgun(json.dumps(payload).encode())
    payload["signature"] = {"timestamp": "1764072000", "token": "t" * 50}
    with pytest.raises(WebhookRejected, match="missing"):
        post_mailgun(json.dumps(payload).encode())


def test_mailgun_stale_or_future_timestamp_is_rejected():
    payload = fixture("mailgun", "delivered.json")
    with pytest.raises(WebhookRejected, match="stale"):
        post_mailgun(mailgun_body(payload, at=NOW - timedelta(minutes=16)))
    with pytest.raises(WebhookRejected, match="stale"):
        post_mailgun(mailgun_body(payload, at=NOW + timedelta(minutes=16)))
    assert len(post_mailgun(mailgun_body(payload, at=NOW - timedelta(minutes=14))).events) == 1


def test_mailgun_tolerance_and_clock_are_injectable():
    from distribute.feedback.webhooks import mailgun

    body = mailgun_body(fixture("mailgun", "delivered.json"), at=NOW - timedelta(minutes=5))
    with pytest.raises(WebhookRejected, match="stale"):
        mailgun.parse({}, body, signing_key=MAILGUN_KEY, tokens=MemoryTokens(), now=clock,
                      tolerance=timedelta(minutes=1))
    later = lambda: NOW + timedelta(hours=1)  # noqa: E731
    with pytest.raises(WebhookRejected, match="stale"):
        parse_webhook("mailgun", {}, body, {"mailgun_signing_key": MAILGUN_KEY}, now=later,
                      tokens=MemoryTokens())


def test_mailgun_token_is_good_for_one_event():
    """Mailgun signs timestamp + token, not event-data: one captured request could otherwise
    carry any event for any delivery until its timestamp goes stale."""
    tokens = MemoryTokens()
    captured = json.loads(mailgun_body(fixture("mailgun", "delivered.json"), token="c" * 50))
    assert [e.type for e in post_mailgun(json.dumps(captured).encode(), tokens=tokens).events] == ["delivered"]
    forged = dict(captured, **{"event-data": fixture("mailgun", "complained.json")["event-data"]})
    with pytest.raises(WebhookRejected, match="used already"):
        post_mailgun(json.dumps(forged).encode(), tokens=tokens)
    # The same request again (a copy, or Mailgun trying again after a 5xx of ours) is read as
    # before; its event id makes recording it a second time a no-op.
    again = post_mailgun(json.dumps(captured, indent=2).encode(), tokens=tokens).events
    assert [(e.type, e.event_id) for e in again] == [("delivered", captured["event-data"]["id"])]
    # The token is kept until its timestamp can no longer pass, on any machine's clock.
    [(digest, until)] = tokens.kept.values()
    assert tokens.kept.keys() == {"mailgun:" + "c" * 50}
    assert until == NOW + timedelta(minutes=20)
    # Without a memory of used tokens, Mailgun webhooks cannot be read at all.
    with pytest.raises(ValueError, match="TokenStore"):
        parse_webhook("mailgun", {}, json.dumps(captured).encode(), {"mailgun_signing_key": MAILGUN_KEY},
                      now=clock)


def test_mailgun_unconfigured_key_rejects_everything():
    with pytest.raises(WebhookRejected, match="DISTRIBUTE_MAILGUN_SIGNING_KEY"):
        post_mailgun(mailgun_body(fixture("mailgun", "delivered.json")), key=None)
    with pytest.raises(WebhookRejected, match="DISTRIBUTE_MAILGUN_SIGNING_KEY"):
        post_mailgun(mailgun_body(fixture("mailgun", "delivered.json"), key=""), key="")


def test_mailgun_malformed_body_is_invalid():
    for body in (b"{nope", b"[]", b"signature=abc&token=def&timestamp=1"):
        with pytest.raises(WebhookInvalid):
            post_mailgun(body)
    # Signed, but without event data.
    with pytest.raises(WebhookInvalid, match="event-data"):
        post_mailgun(mailgun_body({}))
    with pytest.raises(WebhookInvalid, match="timestamp"):
        post_mailgun(mailgun_body({"event-data": {"event": "delivered", "id": "x", "timestamp": "soon"}}))


def test_mailgun_same_event_twice_has_the_same_id():
    payload = fixture("mailgun", "failed_permanent.json")
    first = post_mailgun(mailgun_body(payload, token="1" * 50)).events[0]
    retry = post_mailgun(mailgun_body(payload, token="2" * 50, at=NOW - timedelta(minutes=3))).events[0]
    assert first.event_id == retry.event_id == "G9Bn5sl1TC6nu79C8C0bwg"
