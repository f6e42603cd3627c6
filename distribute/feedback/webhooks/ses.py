"""Amazon SES notifications, delivered by Amazon SNS to an HTTPS endpoint.

Every SNS message's signature is checked (distribute.feedback.webhooks.sns) before its record is
read. SNS signs for any AWS account, so the signature proves only that the message passed through
SNS: DISTRIBUTE_SNS_TOPIC_ARNS names the topics we accept (parse_webhook refuses everything
without it), checked before the signature so that another topic costs no certificate fetch.

Both SES shapes are read: identity notifications ("notificationType": Bounce, Complaint,
Delivery) and event publishing through a configuration set ("eventType": also Send, Reject,
Open, Click, Rendering Failure, DeliveryDelay, Subscription). One record becomes one event per
recipient it names. SES has no id per event, so event_id is a hash of the SES record and the
recipient: a retried SNS delivery, or the same record published to a second topic, has the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from distribute.feedback.webhooks.events import (
    DELIVERY_HEADER,
    DELIVERY_VARIABLE,
    Provider,
    ProviderEvent,
    WebhookInvalid,
    WebhookRejected,
    WebhookResult,
    bare_message_id,
    fingerprint,
    from_iso,
    header_value,
    load_json,
    lower_headers,
    text_or_none,
    word,
)
from distribute.feedback.webhooks.sns import SIGNED_FIELDS, FetchCert, check_cert_url, fetch_cert, verify_sns

PROVIDER = "ses"

# SES event name -> vocabulary word. None: known, and deliberately not an event for us.
# "Bounce" is "bounced" whatever its bounceType: SES reports a Transient bounce only once it has
# stopped retrying, so the message is not coming. bounceType is kept as data and the classifier
# judges hard or soft from the status and diagnostic. "Subscription" is decided in _subscription().
EVENT_TYPES: dict[str, str | None] = {
    "Bounce": "bounced",
    "Complaint": "complained",
    "Delivery": "delivered",
    "Send": None,  # SES accepted the request; nothing has happened to the message yet
    "Reject": "rejected",  # SES refused to send (a virus)
    "Rendering Failure": "rejected",  # not sent: the SES template did not render
    "DeliveryDelay": "deferred",
    "Open": "opened",
    "Click": "clicked",
    "Subscription": "unsubscribed",
    "AmazonSnsSubscriptionSucceeded": None,  # SES says the topic is wired up
}
# What SES sends, once, when a configuration set's event destination is pointed at a topic: a
# Notification whose Message is this sentence, not JSON. Nothing to record, and not an error
# (a 400 and SNS would retry it).
SES_TOPIC_VALIDATED = "Successfully validated SNS topic for Amazon SES event publishing"
# bounceSubType of a "bounce" SES made up without sending: the address is on its suppression list.
SES_SUPPRESSED = frozenset({"Suppressed", "OnAccountSuppressionList"})

# --- the SES record --------------------------------------------------------------------------------


def parse(
    headers: Mapping[str, str],
    body: bytes,
    *,
    topic_arns: frozenset[str],
    fetch_cert: FetchCert = fetch_cert,
    now: Callable[[], datetime],
) -> WebhookResult:
    raw_delivery = lower_headers(headers).get("x-amz-sns-rawdelivery", "").strip().lower() == "true"
    message = load_json(body, PROVIDER)
    if raw_delivery or (isinstance(message, dict) and "Type" not in message
                        and ("eventType" in message or "notificationType" in message)):
        # SNS then posts the SES record alone, without the envelope that carries the signature.
        raise WebhookRejected("ses: the body is an SES record without its signed SNS envelope (is raw message"
                              " delivery on? turn it off for this subscription)")
    if not isinstance(message, dict):
        raise WebhookInvalid("ses: the body is not an SNS message object")
    kind = word(message.get("Type"))
    if kind not in SIGNED_FIELDS:
        raise WebhookInvalid(f"ses: unknown SNS message type {kind!r}")
    announced = lower_headers(headers).get("x-amz-sns-message-type")
    if announced is not None and announced != kind:
        raise WebhookInvalid(f"ses: x-amz-sns-message-type says {announced}, the body says {kind}")

    # Checked before the signature too: a topic we do not take costs no certificate fetch.
    if topic_arns and word(message.get("TopicArn")) not in topic_arns:
        raise WebhookRejected(f"ses: topic {message.get('TopicArn')!r} is not in DISTRIBUTE_SNS_TOPIC_ARNS")
    verify_sns(message, fetch_cert=fetch_cert, now=now)

    if kind == "SubscriptionConfirmation":
        url = message.get("SubscribeURL")
        _check_subscribe_url(url)
        return WebhookResult(events=[], subscribe_url=url)
    if kind == "UnsubscribeConfirmation":
        return WebhookResult(events=[])

    if message["Message"].startswith(SES_TOPIC_VALIDATED):
        return WebhookResult(events=[])
    record = load_json(message["Message"].encode("utf-8"), "ses: the SNS Message")
    if not isinstance(record, dict):
        raise WebhookInvalid("ses: the SNS Message is not an SES record")
    return WebhookResult(events=list(_events(record, published_at=message["Timestamp"])))


def _check_subscribe_url(url: Any) -> None:
    """A SubscribeURL the caller will fetch must be on the same kind of AWS host."""
    try:
        check_cert_url(url)
    except WebhookRejected:
        raise WebhookRejected(f"ses: SubscribeURL is not on an SNS host of AWS: {url!r}") from None


def _events(record: dict[str, Any], *, published_at: str):
    name = word(record.get("eventType", record.get("notificationType")))
    if name is None:
        raise WebhookInvalid("ses: the record has neither eventType nor notificationType")
    if name not in EVENT_TYPES:
        return  # a kind SES added after this was written: nothing we act on
    type_ = EVENT_TYPES[name]
    if type_ is None:
        return
    mail = record.get("mail")
    if not isinstance(mail, dict):
        raise WebhookInvalid(f"ses: the {name} record has no mail object")
    detail_key = {"Rendering Failure": "failure", "DeliveryDelay": "deliveryDelay"}.get(name, name.lower())
    detail = record.get(detail_key)
    if not isinstance(detail, dict):
        detail = {}
    common = {"message_id": _message_id(mail), "delivery_ref": _delivery_ref(mail)}
    # Some records come without mail.timestamp (and a rendering failure has no time of its own):
    # then the time SNS published it, which its signature covers.
    at = from_iso(detail.get("timestamp") or mail.get("timestamp") or published_at, f"ses: {name} timestamp")
    for recipient, verdict, fields in READERS[name](detail, mail):
        yield ProviderEvent(provider=PROVIDER, type=verdict or type_, event_id=fingerprint(PROVIDER, record, recipient),
                            at=at, recipient=recipient, raw=record, **common, **fields)


# Each SES record type's recipients, with what it says of each: (recipient, the event type when
# not the record type's own, the event's fields).

def _bounced(detail: dict, mail: dict):
    # SES did not even try an address on its own suppression list: a refusal by the ESP.
    verdict = "rejected" if word(detail.get("bounceSubType")) in SES_SUPPRESSED else "bounced"
    for item in _dicts(detail.get("bouncedRecipients")):
        yield _address(item.get("emailAddress")), verdict, {
            "status": text_or_none(item.get("status")),
            "diagnostic": text_or_none(item.get("diagnosticCode")),
            "bounce_type": text_or_none(detail.get("bounceType"))}


def _complained(detail: dict, mail: dict):
    kind = text_or_none(detail.get("complaintFeedbackType")) or text_or_none(detail.get("complaintSubType"))
    for item in _dicts(detail.get("complainedRecipients")):
        yield _address(item.get("emailAddress")), None, {"diagnostic": kind,
                                                         "user_agent": text_or_none(detail.get("userAgent"))}


def _delivered(detail: dict, mail: dict):
    for recipient in _list(detail.get("recipients")) or _list(mail.get("destination")):
        yield _address(recipient), None, {}


def _delayed(detail: dict, mail: dict):
    for item in _dicts(detail.get("delayedRecipients")):
        yield _address(item.get("emailAddress")), None, {
            "status": text_or_none(item.get("status")), "diagnostic": text_or_none(item.get("diagnosticCode")),
            "bounce_type": text_or_none(detail.get("delayType"))}


def _not_sent(detail: dict, mail: dict):
    reason = text_or_none(detail.get("reason")) or text_or_none(detail.get("errorMessage"))
    for recipient in _list(mail.get("destination")) or [None]:
        yield _address(recipient), None, {"diagnostic": reason}


def _engaged(detail: dict, mail: dict):
    yield _single_destination(mail), None, {"url": text_or_none(detail.get("link")),
                                            "user_agent": text_or_none(detail.get("userAgent")),
                                            "ip": text_or_none(detail.get("ipAddress"))}


def _subscription(detail: dict, mail: dict):
    # Only an opt-out is news to us; a change that leaves the contact subscribed is not.
    if _opted_out(detail.get("newTopicPreferences")):
        yield _single_destination(mail), None, {"diagnostic": text_or_none(detail.get("source"))}


# Every record type of EVENT_TYPES with a vocabulary word has its reader (a test checks it).
READERS = {"Bounce": _bounced, "Complaint": _complained, "Delivery": _delivered, "DeliveryDelay": _delayed,
           "Reject": _not_sent, "Rendering Failure": _not_sent, "Open": _engaged, "Click": _engaged,
           "Subscription": _subscription}


def _opted_out(preferences: Any) -> bool:
    if not isinstance(preferences, dict):
        return False
    if preferences.get("unsubscribeAll") is True:
        return True
    return any(
        isinstance(topic, dict) and topic.get("subscriptionStatus") == "OptOut"
        for topic in _list(preferences.get("topicSubscriptionStatus"))
    )


def _message_id(mail: dict[str, Any]) -> str | None:
    common = mail.get("commonHeaders")
    if isinstance(common, dict) and common.get("messageId"):
        return bare_message_id(common["messageId"])
    return bare_message_id(header_value(mail.get("headers"), "Message-ID"))


def _delivery_ref(mail: dict[str, Any]) -> str | None:
    ref = header_value(mail.get("headers"), DELIVERY_HEADER)
    if ref:
        return ref
    # Sent with an SES message tag instead (X-SES-MESSAGE-TAGS): tags arrive as {name: [value]}.
    return header_value(mail.get("tags"), DELIVERY_VARIABLE)


def _single_destination(mail: dict[str, Any]) -> str | None:
    destination = _list(mail.get("destination"))
    return _address(destination[0]) if len(destination) == 1 else None


def _address(value: Any) -> str | None:
    return text_or_none(value) if isinstance(value, str) else None


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _dicts(value: Any) -> list[dict]:
    return [item for item in _list(value) if isinstance(item, dict)]


class SES(Provider):
    name = PROVIDER
    secrets = ("sns_topic_arns",)  # comma-separated
    refused = "ses: webhooks are refused until DISTRIBUTE_SNS_TOPIC_ARNS names the topics to accept"

    def read(self, headers, body, secrets, *, fetch_cert, now, tokens) -> WebhookResult:
        topics = frozenset(arn.strip() for arn in secrets["sns_topic_arns"].split(",") if arn.strip())
        if not topics:
            raise WebhookRejected(self.refused)
        return parse(headers, body, topic_arns=topics, fetch_cert=fetch_cert, now=now)
