"""Twilio SendGrid Event Webhook: a JSON array of events, signed.

With "Signed Event Webhook Requests" on, SendGrid signs the bytes timestamp + raw body with
ECDSA on P-256 and SHA-256 and sends the DER signature, base64, in
X-Twilio-Email-Event-Webhook-Signature, the timestamp in X-Twilio-Email-Event-Webhook-Timestamp.
The verification key is shown in the SendGrid settings as base64 of the DER public key
(SubjectPublicKeyInfo); a PEM is accepted too. The signature is checked over the body exactly as
received, before it is parsed. SendGrid documents no freshness window for the timestamp, so none
is enforced: a replayed batch is harmless, every event in it carries the same sg_event_id.

Custom args ("unique args") sent with the message come back as top-level keys of each event:
ours are DELIVERY_VARIABLE and MESSAGE_ID_VARIABLE. "smtp-id" is the Message-ID of the message as
SendGrid received it, on delivery events only.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from distribute.feedback.webhooks.events import (
    DELIVERY_VARIABLE,
    MESSAGE_ID_VARIABLE,
    Provider,
    ProviderEvent,
    WebhookInvalid,
    WebhookRejected,
    WebhookResult,
    bare_message_id,
    fingerprint,
    from_epoch,
    load_json,
    lower_headers,
    text_or_none,
)

PROVIDER = "sendgrid"
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"

# SendGrid event -> vocabulary word; None: known, and not an event for us.
EVENT_TYPES: dict[str, str | None] = {
    "processed": None,  # accepted for sending: nothing has happened to the message yet
    "dropped": "rejected",  # SendGrid refused to send (its suppression lists, an invalid address …)
    "delivered": "delivered",
    "deferred": "deferred",
    # Both a "bounce" (the receiver refused for good) and a "blocked" (refused for now; SendGrid
    # does not retry) are bounces; their `type` is kept and the classifier judges hard or soft.
    "bounce": "bounced",
    "open": "opened",  # sg_machine_open (Apple Mail Privacy Protection and the like) stays in raw
    "click": "clicked",
    "spamreport": "complained",
    "unsubscribe": "unsubscribed",
    "group_unsubscribe": "unsubscribed",
    "group_resubscribe": None,
}


def load_public_key(text: str) -> ec.EllipticCurvePublicKey:
    """The verification key as SendGrid shows it (base64 DER), or as a PEM."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode("ascii"))
        else:
            key = serialization.load_der_public_key(base64.b64decode("".join(text.split()), validate=True))
    except (ValueError, binascii.Error, UnsupportedAlgorithm, UnicodeEncodeError) as exc:
        raise WebhookRejected(f"sendgrid: DISTRIBUTE_SENDGRID_PUBLIC_KEY is not a public key ({exc})") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise WebhookRejected("sendgrid: DISTRIBUTE_SENDGRID_PUBLIC_KEY is not a P-256 (ECDSA) public key")
    return key


def verify(headers: Mapping[str, str], body: bytes, public_key: str) -> None:
    found = lower_headers(headers)
    signature_b64 = found.get(SIGNATURE_HEADER.lower())
    timestamp = found.get(TIMESTAMP_HEADER.lower())
    if not signature_b64 or not timestamp:
        raise WebhookRejected(f"sendgrid: {SIGNATURE_HEADER} or {TIMESTAMP_HEADER} is missing")
    key = load_public_key(public_key)
    try:
        signature = base64.b64decode(signature_b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookRejected(f"sendgrid: {SIGNATURE_HEADER} is not base64") from None
    try:
        key.verify(signature, timestamp.encode("utf-8") + body, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise WebhookRejected("sendgrid: the signature does not match") from None


def parse(headers: Mapping[str, str], body: bytes, *, public_key: str) -> WebhookResult:
    verify(headers, body, public_key)
    payload = load_json(body, PROVIDER)
    if not isinstance(payload, list) or not all(isinstance(item, dict) for item in payload):
        raise WebhookInvalid("sendgrid: the body is not a JSON array of events")
    events = []
    for item in payload:
        name = item.get("event")
        if not isinstance(name, str):
            raise WebhookInvalid("sendgrid: an event has no event name")
        type_ = EVENT_TYPES.get(name)
        if type_ is None:
            continue  # known and ignored, or a kind added after this was written
        events.append(_event(type_, item))
    return WebhookResult(events=events)


def _event(type_: str, item: dict[str, Any]) -> ProviderEvent:
    failure = type_ in ("bounced", "rejected", "deferred")
    return ProviderEvent(
        provider=PROVIDER,
        type=type_,
        event_id=text_or_none(item.get("sg_event_id")) or fingerprint(PROVIDER, item),
        at=from_epoch(item.get("timestamp"), f"sendgrid: {item.get('event')} timestamp"),
        recipient=text_or_none(item.get("email")),
        message_id=bare_message_id(_custom_arg(item, MESSAGE_ID_VARIABLE) or item.get("smtp-id")),
        delivery_ref=_custom_arg(item, DELIVERY_VARIABLE),
        status=text_or_none(item.get("status")) if failure else None,
        # "reason" on a bounce or drop, "response" (the receiver's reply) on a deferral.
        diagnostic=(text_or_none(item.get("reason")) or text_or_none(item.get("response"))) if failure else None,
        bounce_type=text_or_none(item.get("type")) if type_ == "bounced" else None,
        url=text_or_none(item.get("url")),
        user_agent=text_or_none(item.get("useragent")),
        ip=text_or_none(item.get("ip")) if type_ in ("opened", "clicked", "unsubscribed") else None,
        raw=item,
    )


def _custom_arg(item: dict[str, Any], name: str) -> str | None:
    # Flattened into the event by the v3 API; nested under "unique_args" by some older senders.
    value = item.get(name)
    if value is None:
        for container in ("custom_args", "unique_args"):
            nested = item.get(container)
            if isinstance(nested, dict) and name in nested:
                value = nested[name]
                break
    return text_or_none(value)


class SendGrid(Provider):
    name = PROVIDER
    secrets = ("sendgrid_public_key",)
    refused = "sendgrid: webhooks are refused until DISTRIBUTE_SENDGRID_PUBLIC_KEY is set"

    def read(self, headers, body, secrets, *, fetch_cert, now, tokens) -> WebhookResult:
        return parse(headers, body, public_key=secrets["sendgrid_public_key"])
