"""SES webhooks through SNS: the SNS signature, certificate and topic checks, and SES records in
the vocabulary (the default certificate fetcher on its own: test_sns)."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from distribute.feedback.webhooks import ses
from distribute.feedback.webhooks.registry import WebhookInvalid, WebhookRejected, WebhookResult, parse_webhook

from webhook_helpers import CERT_URL, NOW, REF, TOPIC, CertFetcher, clock, fixture, notification, post_ses, sign_sns


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


def test_ses_is_refused_until_topics_are_set(sns_key, fetcher):
    # AWS signs messages of any account's topic: a valid signature alone proves nothing.
    signed = sign_sns(notification(fixture("ses", "complaint.json")), sns_key[0])
    with pytest.raises(WebhookRejected, match="DISTRIBUTE_SNS_TOPIC_ARNS"):
        post_ses(signed, fetcher, topics=frozenset())


def test_every_ses_record_type_we_act_on_has_its_reader():
    assert ses.READERS.keys() == {name for name, word in ses.EVENT_TYPES.items() if word}
