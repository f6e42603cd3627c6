"""SendGrid's Event Webhook: the ECDSA signature and its events in the vocabulary."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from distribute.feedback.webhooks.registry import WebhookInvalid, WebhookRejected

from webhook_helpers import DATA, REF, post_sendgrid, sendgrid_headers


def test_sendgrid_event_types_map_to_the_vocabulary(sendgrid_key):
    key, public = sendgrid_key
    body = (DATA / "sendgrid" / "events.json").read_bytes()  # the bytes as they were signed
    events = post_sendgrid(body, sendgrid_headers(key, body), public).events
    assert [(event.raw["event"], event.type) for event in events] == [
        ("deferred", "deferred"),
        ("delivered", "delivered"),
        ("open", "opened"),
        ("open", "opened"),
        ("click", "clicked"),
        ("bounce", "bounced"),
        ("bounce", "bounced"),
        ("dropped", "rejected"),
        ("spamreport", "complained"),
        ("unsubscribe", "unsubscribed"),
        ("group_unsubscribe", "unsubscribed"),
    ]  # "processed" and "group_resubscribe" are not events for us
    assert all(event.delivery_ref == REF and event.recipient == "example@test.com" for event in events)
    assert all(event.at == datetime(2017, 12, 15, 0, 59, 29, tzinfo=timezone.utc) for event in events)
    by_id = {event.event_id: event for event in events}
    assert len(by_id) == len(events)

    deferred, delivered, human, machine, click, bounce, blocked, dropped = events[:8]
    assert delivered.message_id == "20171215010929.14c5d75c@press.example.org"
    assert delivered.ip is None  # SendGrid's "ip" on a delivery is its own sending address
    assert deferred.diagnostic == "400 try again later"
    assert (bounce.status, bounce.diagnostic, bounce.bounce_type) == ("5.0.0", "500 unknown recipient", "bounce")
    assert (blocked.status, blocked.bounce_type) == ("5.7.1", "blocked")
    assert dropped.diagnostic == "Bounced Address"
    assert (human.raw["sg_machine_open"], machine.raw["sg_machine_open"]) == (False, True)
    assert (human.ip, human.user_agent.startswith("Mozilla/4.0")) == ("255.255.255.255", True)
    assert click.url == "http://www.sendgrid.com/"
    assert bounce.event_id == "6g4ZI7SA-xmRDv57GoPIPw=="


def test_sendgrid_custom_args_and_headers_in_any_case(sendgrid_key):
    key, public = sendgrid_key
    body = json.dumps([{
        "email": "a@example.org", "timestamp": 1764072000, "event": "delivered", "sg_event_id": "e1",
        "smtp-id": "<sendgrid-made@ismtpd-555>", "distribute_message_id": "<ours@press.example.org>",
        "unique_args": {"distribute_delivery": "nested-ref"},
    }]).encode()
    headers = {name.lower(): value for name, value in sendgrid_headers(key, body).items()}
    [event] = post_sendgrid(body, headers, public).events
    assert (event.message_id, event.delivery_ref) == ("ours@press.example.org", "nested-ref")


def test_sendgrid_accepts_the_key_as_pem(sendgrid_key):
    key, _ = sendgrid_key
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    body = (DATA / "sendgrid" / "events.json").read_bytes()
    assert len(post_sendgrid(body, sendgrid_headers(key, body), pem.decode()).events) == 11


def test_sendgrid_forged_signature_is_rejected(sendgrid_key):
    key, public = sendgrid_key
    body = (DATA / "sendgrid" / "events.json").read_bytes()
    headers = sendgrid_headers(key, body)
    with pytest.raises(WebhookRejected, match="does not match"):
        post_sendgrid(body.replace(b"example@test.com", b"victim@test.com"), headers, public)
    with pytest.raises(WebhookRejected, match="does not match"):
        post_sendgrid(body, dict(headers, **{"X-Twilio-Email-Event-Webhook-Timestamp": "1764072001"}), public)
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(WebhookRejected, match="does not match"):
        post_sendgrid(body, sendgrid_headers(other, body), public)
    with pytest.raises(WebhookRejected, match="base64"):
        post_sendgrid(body, dict(headers, **{"X-Twilio-Email-Event-Webhook-Signature": "%%%"}), public)


def test_sendgrid_missing_signature_is_rejected(sendgrid_key):
    _, public = sendgrid_key
    body = (DATA / "sendgrid" / "events.json").read_bytes()
    with pytest.raises(WebhookRejected, match="missing"):
        post_sendgrid(body, {"Content-Type": "application/json"}, public)


def test_sendgrid_unconfigured_or_unusable_key_rejects_everything(sendgrid_key):
    key, _ = sendgrid_key
    body = (DATA / "sendgrid" / "events.json").read_bytes()
    with pytest.raises(WebhookRejected, match="DISTRIBUTE_SENDGRID_PUBLIC_KEY"):
        post_sendgrid(body, sendgrid_headers(key, body), None)
    with pytest.raises(WebhookRejected, match="DISTRIBUTE_SENDGRID_PUBLIC_KEY"):
        post_sendgrid(body, sendgrid_headers(key, body), "not a key")
    rsa_public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    rsa_der = rsa_public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(WebhookRejected, match="P-256"):
        post_sendgrid(body, sendgrid_headers(key, body), base64.b64encode(rsa_der).decode())


def test_sendgrid_malformed_body_is_invalid(sendgrid_key):
    key, public = sendgrid_key
    for body in (b"[{", b'{"event": "delivered"}', b"[1]", b'[{"email": "a@example.org"}]',
                 b'[{"event": "delivered", "timestamp": "yesterday"}]'):
        with pytest.raises(WebhookInvalid):
            post_sendgrid(body, sendgrid_headers(key, body), public)


def test_sendgrid_same_events_twice_have_the_same_ids(sendgrid_key):
    key, public = sendgrid_key
    body = (DATA / "sendgrid" / "events.json").read_bytes()
    first = [event.event_id for event in post_sendgrid(body, sendgrid_headers(key, body), public).events]
    # A retry, signed again at another time and serialised differently.
    again_body = json.dumps(json.loads(body), indent=1).encode()
    again = post_sendgrid(again_body, sendgrid_headers(key, again_body, "1764075600"), public).events
    assert first == [event.event_id for event in again]
    # Without sg_event_id, the id is a hash of the event: stable across serialisations too.
    bare = [{"email": "a@example.org", "timestamp": 1764072000, "event": "open", "ip": "192.0.2.1"}]
    ids = set()
    for body in (json.dumps(bare).encode(), json.dumps(bare, indent=2, sort_keys=True).encode()):
        ids.add(post_sendgrid(body, sendgrid_headers(key, body), public).events[0].event_id)
    assert len(ids) == 1 and len(ids.pop()) == 64
