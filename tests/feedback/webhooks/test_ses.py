"""ESP webhooks: verification and normalisation, with payloads written from the providers'
documented examples (tests/data/webhooks/) and keys and certificates generated here: the test
machine has no internet, and the SNS certificate is supplied through `fetch_cert`."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from distribute.feedback.webhooks import ses
from distribute.feedback.webhooks.registry import (
    PROVIDERS,
    VOCABULARY,
    ProviderEvent,
    WebhookInvalid,
    WebhookRejected,
    WebhookResult,
    parse_webhook,
)

DATA = Path(__file__).parent / "data" / "webhooks"
REF = "k3J9xQ2vL7mPa1Zt"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-events"
CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"


def fixture(*path: str):
    return json.loads((DATA.joinpath(*path)).read_text())


def clock():
    return NOW


def test_vocabulary_is_the_feedback_vocabulary():
    from distribute.states import FEEDBACK_TYPES

    assert VOCABULARY == FEEDBACK_TYPES
    assert tuple(PROVIDERS) == ("ses", "sendgrid", "mailgun", "postmark")


def test_unknown_provider_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown webhook provider"):
        parse_webhook("mandrill", {}, b"{}", {})


def test_provider_event_refuses_words_and_times_outside_the_contract():
    with pytest.raises(ValueError, match="unknown event type"):
        ProviderEvent(provider="ses", type="queued", event_id="x", at=NOW)
    with pytest.raises(ValueError, match="UTC"):
        ProviderEvent(provider="ses", type="opened", event_id="x", at=datetime(2026, 1, 1))


# --- Amazon SES through SNS --------------------------------------------------------------------


class CertFetcher:
    """fetch_cert for tests: serves one PEM and remembers every URL asked for."""

    def __init__(self, pem: bytes):
        self.pem = pem
        self.calls: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.calls.append(url)
        return self.pem


@pytest.fixture(scope="module")
def sns_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=30))
        .not_valid_after(NOW + timedelta(days=300))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def fetcher(sns_key):
    return CertFetcher(sns_key[1])


def canonical(message: dict) -> bytes:
    """The SNS string to sign, written out here independently of the code under test."""
    if message["Type"] == "Notification":
        names = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    else:
        names = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    return "".join(f"{name}\n{message[name]}\n" for name in names if name in message).encode()


def sign_sns(message: dict, key, version: str = "1") -> dict:
    message = dict(message, SignatureVersion=version)
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = key.sign(canonical(message), padding.PKCS1v15(), algorithm)
    message["Signature"] = base64.b64encode(signature).decode()
    return message


def notification(record: dict, *, message_id: str = "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", **extra) -> dict:
    message = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": TOPIC,
        "Message": json.dumps(record),
        "Timestamp": "2026-11-25T11:59:58.123Z",
        "SigningCertURL": CERT_URL,
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + TOPIC + ":x",
    }
    message.update(extra)
    return message


def post_ses(message: dict, fetcher, *, topics=frozenset({TOPIC}), headers=None):
    body = json.dumps(message).encode()
    headers = {"x-amz-sns-message-type": message.get("Type", "")} if headers is None else headers
    return parse_webhook("ses", headers, body, {"sns_topic_arns": ",".join(topics)}, fetch_cert=fetcher, now=clock)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("bounce_permanent.json", [("bounced", "recipient@example.com")]),
        ("bounce_transient_notification.json", [("bounced", "jane@example.com"), ("bounced", "richard@example.com")]),
        ("bounce_suppressed.json", [("rejected", "recipient@example.com")]),
        ("complaint.json", [("complained", "recipient@example.com")]),
        ("delivery.json", [("delivered", "recipient@example.com")]),
        ("send.json", []),
        ("reject.json", [("rejected", "recipient@example.com")]),
        ("open.json", [("opened", "recipient@example.com")]),
        ("click.json", [("clicked", "recipient@example.com")]),
        ("delivery_delay.json", [("deferred", "recipient@example.com")]),
        ("subscription.json", [("unsubscribed", "recipient@example.com")]),
    ],
)
def test_ses_event_types_map_to_the_vocabulary(name, expected, sns_key, fetcher):
    record = fixture("ses", name)
    result = post_ses(sign_sns(notification(record), sns_key[0]), fetcher)
    assert [(event.type, event.recipient) for event in result.events] == expected
    assert result.subscribe_url is None
    for event in result.events:
        assert event.provider == "ses" and event.raw == record
        assert event.at.tzinfo is not None and event.at.utcoffset() == timedelta(0)
    assert fetcher.calls == [CERT_URL]


def test_ses_bounce_carries_status_diagnostic_and_the_providers_verdict(sns_key, fetcher):
    [event] = post_ses(sign_sns(notification(fixture("ses", "bounce_permanent.json")), sns_key[0]), fetcher).events
    assert event.message_id == "20170805004002.7c191be4@press.example.org"
    assert event.delivery_ref == REF
    assert event.status == "5.1.1"
    assert event.diagnostic == "smtp; 550 5.1.1 user unknown"
    assert event.bounce_type == "Permanent"
    assert event.at == datetime(2017, 8, 5, 0, 41, 2, 669000, tzinfo=timezone.utc)

    transient = post_ses(sign_sns(notification(fixture("ses", "bounce_transient_notification.json")), sns_key[0]), fetcher)
    first, second = transient.events
    assert (first.bounce_type, first.status, first.message_id) == ("Transient", "4.2.2", "custom-message-ID")
    assert first.delivery_ref is None
    assert first.event_id != second.event_id  # one record, two recipients, two events


def test_ses_engagement_and_delay_fields(sns_key, fetcher):
    def one(name):
        [event] = post_ses(sign_sns(notification(fixture("ses", name)), sns_key[0]), fetcher).events
        return event

    opened = one("open.json")
    assert opened.message_id == "20170809215810.2f2f@press.example.org"
    assert opened.delivery_ref == REF
    assert (opened.ip, opened.user_agent.startswith("Mozilla/5.0 (iPhone")) == ("192.0.2.1", True)
    assert opened.at == datetime(2017, 8, 9, 22, 0, 19, 652000, tzinfo=timezone.utc)

    clicked = one("click.json")
    assert clicked.url == "http://docs.aws.amazon.com/ses/latest/DeveloperGuide/send-email-smtp.html"
    assert clicked.delivery_ref == REF  # from the SES message tag

    delayed = one("delivery_delay.json")
    assert (delayed.status, delayed.bounce_type) == ("4.4.1", "TransientCommunicationFailure")
    assert "Unable to lookup DNS" in delayed.diagnostic

    rejected = one("reject.json")
    assert (rejected.diagnostic, rejected.message_id, rejected.delivery_ref) == (
        "Bad content", "20161014173815.9a9a@press.example.org", REF)
    assert rejected.at == datetime(2016, 10, 14, 17, 38, 15, 211000, tzinfo=timezone.utc)  # mail.timestamp

    complained = one("complaint.json")
    assert (complained.diagnostic, complained.delivery_ref) == ("abuse", REF)  # header name in any case


def test_ses_subscription_change_that_keeps_the_contact_subscribed_is_not_an_event(sns_key, fetcher):
    record = fixture("ses", "subscription.json")
    record["subscription"]["newTopicPreferences"] = {
        "unsubscribeAll": False,
        "topicSubscriptionStatus": [{"topicName": "ExampleTopicName", "subscriptionStatus": "OptIn"}],
    }
    assert post_ses(sign_sns(notification(record), sns_key[0]), fetcher).events == []


@pytest.mark.parametrize("version", ["1", "2"])
def test_ses_signature_versions_1_and_2(version, sns_key, fetcher):
    message = sign_sns(notification(fixture("ses", "delivery.json"), Subject="Amazon SES Email Event Notification"),
                       sns_key[0], version)
    [event] = post_ses(message, fetcher).events
    assert event.type == "delivered"
    # A version-1 signature presented as version 2 (or the reverse) does not verify.
    swapped = dict(message, SignatureVersion="2" if version == "1" else "1")
    with pytest.raises(WebhookRejected, match="does not match"):
        post_ses(swapped, fetcher)


def test_ses_forged_message_is_rejected(sns_key, fetcher):
    message = sign_sns(notification(fixture("ses", "delivery.json")), sns_key[0])
    record = json.loads(message["Message"])
    record["delivery"]["recipients"] = ["someone-else@example.com"]
    with pytest.raises(WebhookRejected, match="does not match"):
        post_ses(dict(message, Message=json.dumps(record)), fetcher)
    # Signed by a key that is not the certificate's.
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(WebhookRejected, match="does not match"):
        post_ses(sign_sns(notification(fixture("ses", "delivery.json")), other), fetcher)
    # A Subject added after signing is part of the string to sign.
    with pytest.raises(WebhookRejected, match="does not match"):
        post_ses(dict(message, Subject="added"), fetcher)


def test_ses_missing_or_unknown_signature_is_rejected(sns_key, fetcher):
    unsigned = notification(fixture("ses", "delivery.json"))
    with pytest.raises(WebhookRejected, match="not signed"):
        post_ses(unsigned, fetcher)
    signed = sign_sns(unsigned, sns_key[0])
    with pytest.raises(WebhookRejected, match="SignatureVersion"):
        post_ses(dict(signed, SignatureVersion="3"), fetcher)
    with pytest.raises(WebhookRejected, match="base64"):
        post_ses(dict(signed, Signature="not base64!"), fetcher)
    assert fetcher.calls == []


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.us-east-1.amazonaws.com/cert.pem",
        "https://sns.us-east-1.amazonaws.com.evil.example/cert.pem",
        "https://evil.example/sns.us-east-1.amazonaws.com/cert.pem",
        "https://sns.us-east-1.amazonaws.com@evil.example/cert.pem",
        "https://user@sns.us-east-1.amazonaws.com/cert.pem",
        "https://sns.us-east-1.amazonaws.com:8443/cert.pem",
        "https://s3.amazonaws.com/sns.us-east-1.amazonaws.com/cert.pem",
        "https://sns.us-east-1.amazonaws.co/cert.pem",
        "file:///etc/passwd",
        "",
    ],
)
def test_ses_cert_url_off_an_sns_host_is_rejected_before_any_fetch(url, sns_key, fetcher):
    message = sign_sns(notification(fixture("ses", "delivery.json"), SigningCertURL=url), sns_key[0])
    with pytest.raises(WebhookRejected, match="SigningCertURL"):
        post_ses(message, fetcher)
    assert fetcher.calls == []


def test_ses_china_region_host_is_accepted(sns_key, fetcher):
    url = "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem"
    message = notification(fixture("ses", "delivery.json"), SigningCertURL=url,
                           TopicArn="arn:aws-cn:sns:cn-north-1:123456789012:ses-events")
    topics = frozenset({"arn:aws-cn:sns:cn-north-1:123456789012:ses-events"})
    assert post_ses(sign_sns(message, sns_key[0]), fetcher, topics=topics).events[0].type == "delivered"
    assert fetcher.calls == [url]


def test_ses_cert_from_another_region_than_the_topic_is_rejected(sns_key, fetcher):
    url = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem"
    message = sign_sns(notification(fixture("ses", "delivery.json"), SigningCertURL=url), sns_key[0])
    with pytest.raises(WebhookRejected, match="eu-west-1"):
        post_ses(message, fetcher)
    assert fetcher.calls == []


def test_ses_default_fetcher_refuses_a_bad_url_without_touching_the_network():
    with pytest.raises(WebhookRejected, match="SigningCertURL"):
        ses.fetch_cert("https://evil.example/cert.pem")


def test_ses_expired_certificate_is_rejected(sns_key):
    key = sns_key[0]
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    old = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(NOW - timedelta(days=400)).not_valid_after(NOW - timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    fetcher = CertFetcher(old.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(WebhookRejected, match="not valid now"):
        post_ses(sign_sns(notification(fixture("ses", "delivery.json")), key), fetcher)


def test_ses_topics_can_be_restricted(sns_key, fetcher):
    message = sign_sns(notification(fixture("ses", "delivery.json")), sns_key[0])
    with pytest.raises(WebhookRejected, match="DISTRIBUTE_SNS_TOPIC_ARNS"):
        post_ses(message, fetcher, topics=frozenset({"arn:aws:sns:us-east-1:123456789012:other"}))
    assert fetcher.calls == []  # refused before any fetch
    assert len(post_ses(message, fetcher, topics=frozenset({TOPIC})).events) == 1


def test_ses_subscription_confirmation_gives_the_url_after_verification(sns_key, fetcher):
    confirmation = fixture("ses", "subscription_confirmation.json")
    confirmation.update(TopicArn=TOPIC, SigningCertURL=CERT_URL)
    confirmation["SubscribeURL"] = confirmation["SubscribeURL"].replace("us-west-2", "us-east-1")
    signed = sign_sns(confirmation, sns_key[0])
    result = post_ses(signed, fetcher)
    assert result.events == [] and result.subscribe_url == confirmation["SubscribeURL"]
    # The documented example's own signature is not one of ours: refused.
    with pytest.raises(WebhookRejected):
        post_ses(dict(confirmation, Signature=fixture("ses", "subscription_confirmation.json")["Signature"]), fetcher)
    # A forged SubscribeURL breaks the signature; a signed one off AWS is refused all the same.
    with pytest.raises(WebhookRejected, match="does not match"):
        post_ses(dict(signed, SubscribeURL="https://evil.example/confirm"), fetcher)
    with pytest.raises(WebhookRejected, match="SubscribeURL"):
        post_ses(sign_sns(dict(confirmation, SubscribeURL="https://evil.example/confirm"), sns_key[0]), fetcher)
    # Unsubscribe confirmations are verified and carry nothing to act on.
    unsubscribed = sign_sns(dict(confirmation, Type="UnsubscribeConfirmation"), sns_key[0])
    assert post_ses(unsubscribed, fetcher) == type(result)(events=[], subscribe_url=None)


def test_ses_malformed_bodies_are_invalid(sns_key, fetcher):
    secrets = {"sns_topic_arns": TOPIC}
    for body in (b"not json", b"[1, 2]", b"\xff\xfe"):
        with pytest.raises(WebhookInvalid):
            parse_webhook("ses", {}, body, secrets, fetch_cert=fetcher, now=clock)
    with pytest.raises(WebhookInvalid, match="message type"):
        post_ses({"Type": "Gossip"}, fetcher)
    # Signed, but the Message is not an SES record.
    with pytest.raises(WebhookInvalid, match="not JSON"):
        post_ses(sign_sns(dict(notification({}), Message="hello"), sns_key[0]), fetcher)
    with pytest.raises(WebhookInvalid, match="eventType"):
        post_ses(sign_sns(notification({"mail": {}}), sns_key[0]), fetcher)
    # The type header and the body disagree.
    message = sign_sns(notification(fixture("ses", "delivery.json")), sns_key[0])
    with pytest.raises(WebhookInvalid, match="x-amz-sns-message-type"):
        post_ses(message, fetcher, headers={"X-Amz-Sns-Message-Type": "SubscriptionConfirmation"})


def test_ses_unknown_and_housekeeping_records_give_no_events(sns_key, fetcher):
    for record in ({"eventType": "SomethingNew", "mail": {}},
                   {"notificationType": "AmazonSnsSubscriptionSucceeded", "message": "You have successfully subscribed"}):
        assert post_ses(sign_sns(notification(record), sns_key[0]), fetcher).events == []


def test_ses_topic_validated_notice_is_answered_and_records_nothing(sns_key, fetcher):
    """A captured notice: SES posts this plain sentence (not JSON) once, when an event destination
    is set up. Refused as "not JSON", SNS would retry it."""
    notice = fixture("ses", "topic_validated_notification.json")
    with pytest.raises(WebhookRejected):  # verified all the same: the captured signature is not ours
        post_ses(dict(notice, TopicArn=TOPIC), fetcher)
    notice.update(TopicArn=TOPIC, SigningCertURL=CERT_URL)
    assert post_ses(sign_sns(notice, sns_key[0]), fetcher) == WebhookResult(events=[], subscribe_url=None)
    # Any other sentence is still not an SES record.
    with pytest.raises(WebhookInvalid, match="not JSON"):
        post_ses(sign_sns(dict(notice, Message="Successfully something else."), sns_key[0]), fetcher)


def test_ses_record_without_mail_timestamp_takes_the_signed_sns_timestamp(sns_key, fetcher):
    record = fixture("ses", "rendering_failure_without_mail_timestamp.json")
    [event] = post_ses(sign_sns(notification(record), sns_key[0]), fetcher).events
    assert (event.type, event.recipient, event.delivery_ref) == ("rejected", "recipient@example.com", REF)
    assert event.at == datetime(2026, 11, 25, 11, 59, 58, 123000, tzinfo=timezone.utc)  # the SNS Timestamp
    assert "not present in the rendering data" in event.diagnostic


def test_ses_raw_message_delivery_is_refused_with_the_hint(fetcher):
    """With raw message delivery on, SNS posts the SES record alone: no signature to check."""
    body = json.dumps(fixture("ses", "delivery.json")).encode()
    secrets = {"sns_topic_arns": TOPIC}
    for headers in ({"x-amz-sns-message-type": "Notification", "x-amz-sns-rawdelivery": "true"}, {}):
        with pytest.raises(WebhookRejected, match="is raw message delivery on"):
            parse_webhook("ses", headers, body, secrets, fetch_cert=fetcher, now=clock)
    assert fetcher.calls == []


def test_ses_same_event_twice_has_the_same_id(sns_key, fetcher):
    record = fixture("ses", "bounce_permanent.json")
    first = post_ses(sign_sns(notification(record), sns_key[0]), fetcher).events
    again = post_ses(sign_sns(notification(record), sns_key[0]), fetcher).events
    # Published to a second topic: another SNS message, the same SES record.
    elsewhere = post_ses(sign_sns(notification(record, message_id="another-sns-message"), sns_key[0]), fetcher).events
    assert first[0].event_id == again[0].event_id == elsewhere[0].event_id
    other = copy.deepcopy(record)
    other["bounce"]["timestamp"] = "2017-08-05T00:41:03.000Z"
    assert post_ses(sign_sns(notification(other), sns_key[0]), fetcher).events[0].event_id != first[0].event_id


# --- SendGrid ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sendgrid_key():
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key, base64.b64encode(der).decode()


def sendgrid_headers(key, body: bytes, timestamp: str = "1764072000") -> dict:
    signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        "Content-Type": "application/json",
    }


def post_sendgrid(body: bytes, headers: dict, public_key: str | None):
    return parse_webhook("sendgrid", headers, body, {"sendgrid_public_key": public_key})


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


# --- Mailgun -----------------------------------------------------------------------------------

MAILGUN_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"


def mailgun_body(payload: dict, *, key: str = MAILGUN_KEY, at: datetime = NOW, token: str = "a" * 50) -> bytes:
    payload = copy.deepcopy(payload)
    timestamp = str(int(at.timestamp()))
    digest = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    payload["signature"] = {"timestamp": timestamp, "token": token, "signature": digest}
    return json.dumps(payload).encode()


class MemoryTokens:
    """A TokenStore in a dict, for the parser's tests (the web app's shared ones are tested in
    tests/test_web.py, on Redis and the databases)."""

    def __init__(self):
        self.kept: dict[str, tuple[str, datetime]] = {}

    def claim(self, key: str, digest: str, until: datetime) -> str | None:
        if key in self.kept:
            return self.kept[key][0]
        self.kept[key] = (digest, until)
        return None


def post_mailgun(body: bytes, key: str | None = MAILGUN_KEY, tokens=None):
    return parse_webhook("mailgun", {"Content-Type": "application/json"}, body,
                         {"mailgun_signing_key": key}, now=clock, tokens=tokens or MemoryTokens())


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


# --- Postmark ----------------------------------------------------------------------------------


def basic(username: str, password: str) -> dict:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Content-Type": "application/json"}


POSTMARK_SECRETS = {"postmark_username": "postmark", "postmark_password": "s3cret-hook-password"}


def post_postmark(body, headers=None, secrets=POSTMARK_SECRETS):
    body = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_webhook("postmark", basic("postmark", "s3cret-hook-password") if headers is None else headers,
                         body, secrets, now=clock)


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


# --- malformed data never becomes our fault ----------------------------------------------------

ODD_VALUES = (None, [], {}, 7, "x", True)


def mutations(value, depth=0):
    """Every copy of `value` with one field, at any depth up to 4, replaced by an odd value."""
    if depth > 4:
        return
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        return
    for key, child in items:
        for odd in ODD_VALUES:
            changed = copy.deepcopy(value)
            changed[key] = odd
            yield changed
        for inner in mutations(child, depth + 1):
            changed = copy.deepcopy(value)
            changed[key] = inner
            yield changed


def outcome(call):
    try:
        return call().events
    except (WebhookInvalid, WebhookRejected):
        return None


def test_authentic_but_malformed_data_is_invalid_never_a_crash(sns_key, fetcher, sendgrid_key):
    """An authentic request whose data has the wrong shape is answered 400 or taken as far as it
    makes sense, never with a TypeError (a 500 and a provider retrying it for days)."""
    for name in ("bounce_permanent.json", "click.json", "subscription.json"):
        for record in mutations(fixture("ses", name)):
            outcome(lambda: post_ses(sign_sns(notification(record), sns_key[0]), fetcher))
    for message in mutations(notification(fixture("ses", "delivery.json"))):
        message = {k: v for k, v in message.items() if k != "Signature"}
        if isinstance(message.get("Type"), str) and all(isinstance(message.get(k, ""), str) for k in
                                                         ("Message", "MessageId", "Timestamp", "TopicArn")):
            try:
                message = sign_sns(message, sns_key[0])
            except TypeError:
                pass
        outcome(lambda: post_ses(message, fetcher, headers={}))
    key, public = sendgrid_key
    for events in mutations(json.loads((DATA / "sendgrid" / "events.json").read_bytes())[5:8]):
        body = json.dumps(events).encode()
        outcome(lambda: post_sendgrid(body, sendgrid_headers(key, body), public))
    for name in ("failed_permanent.json", "clicked.json"):
        for payload in mutations(fixture("mailgun", name)):
            if "signature" in payload and payload["signature"] != fixture("mailgun", name)["signature"]:
                outcome(lambda: post_mailgun(json.dumps(payload).encode()))
            else:
                outcome(lambda: post_mailgun(mailgun_body(payload)))
    for name in ("bounce_hard.json", "open.json", "subscription_change.json"):
        for record in mutations(fixture("postmark", name)):
            outcome(lambda: post_postmark(record))


def test_deeply_nested_json_is_invalid_not_a_crash(sns_key, fetcher, sendgrid_key):
    """json.loads raises RecursionError a thousand levels down: a 500 with a traceback for anyone
    who posts "[[[[…", before any signature is checked (SES and Mailgun read the body first)."""
    deep = b"[" * 100_000
    with pytest.raises(WebhookInvalid, match="nested too deeply"):
        parse_webhook("ses", {}, deep, {"sns_topic_arns": TOPIC},
                      fetch_cert=fetcher, now=clock)
    with pytest.raises(WebhookInvalid, match="nested too deeply"):
        post_mailgun(deep)
    with pytest.raises(WebhookInvalid, match="nested too deeply"):
        post_postmark(deep)
    key, public = sendgrid_key
    with pytest.raises(WebhookInvalid, match="nested too deeply"):
        post_sendgrid(deep, sendgrid_headers(key, deep), public)
    # Signed by SNS, with the deep JSON inside the Message.
    with pytest.raises(WebhookInvalid, match="nested too deeply"):
        post_ses(sign_sns(dict(notification({}), Message="[" * 100_000), sns_key[0]), fetcher)
    assert fetcher.calls == [CERT_URL]


# --- the default certificate fetcher, with the network replaced ----------------------------------


class FakeResponse:
    def __init__(self, data: bytes):
        self.data = data

    def read(self, limit: int) -> bytes:
        return self.data[:limit]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_default_fetcher_caches_certificates_only(monkeypatch, sns_key):
    import urllib.error

    opened: list[str] = []
    answers: dict[str, object] = {
        "https://sns.us-east-1.amazonaws.com/good.pem": sns_key[1],
        "https://sns.us-east-1.amazonaws.com/html.pem": b"<html>maintenance</html>",
        "https://sns.us-east-1.amazonaws.com/missing.pem": urllib.error.HTTPError("u", 404, "Not Found", {}, None),
        "https://sns.us-east-1.amazonaws.com/down.pem": urllib.error.URLError("connection refused"),
        "https://sns.us-east-1.amazonaws.com/busy.pem": urllib.error.HTTPError("u", 503, "Busy", {}, None),
    }

    def fake_open(url, timeout):
        assert timeout == ses.FETCH_TIMEOUT_SECONDS
        opened.append(url)
        answer = answers[url]
        if isinstance(answer, Exception):
            raise answer
        return FakeResponse(answer)

    monkeypatch.setattr(ses._opener, "open", fake_open)
    monkeypatch.setattr(ses, "_cache", type(ses._cache)())
    good = "https://sns.us-east-1.amazonaws.com/good.pem"
    assert ses.fetch_cert(good) == sns_key[1]
    assert ses.fetch_cert(good) == sns_key[1]
    assert opened == [good]  # the second time from the cache
    for name in ("html", "missing"):
        for _ in range(2):
            with pytest.raises(WebhookRejected):
                ses.fetch_cert(f"https://sns.us-east-1.amazonaws.com/{name}.pem")
    for name in ("down", "busy"):  # our side, or AWS's: a 5xx, and SNS retries
        with pytest.raises(ses.CertificateUnavailable):
            ses.fetch_cert(f"https://sns.us-east-1.amazonaws.com/{name}.pem")
    assert opened.count("https://sns.us-east-1.amazonaws.com/html.pem") == 2  # not cached


def test_default_fetcher_follows_no_redirect():
    import urllib.error
    import urllib.request

    request = urllib.request.Request("https://sns.us-east-1.amazonaws.com/cert.pem")
    with pytest.raises(urllib.error.HTTPError, match="refused"):
        ses._NoRedirect().redirect_request(request, None, 302, "Found", {}, "https://evil.example/cert.pem")


def test_ses_is_refused_until_topics_are_set(sns_key, fetcher):
    # AWS signs messages of any account's topic: a valid signature alone proves nothing.
    signed = sign_sns(notification(fixture("ses", "complaint.json")), sns_key[0])
    with pytest.raises(WebhookRejected, match="DISTRIBUTE_SNS_TOPIC_ARNS"):
        post_ses(signed, fetcher, topics=frozenset())
