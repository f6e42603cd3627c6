"""Postmark webhooks: one JSON object per request, told apart by RecordType.

Postmark does not sign webhooks. It sends HTTP Basic credentials written into the webhook URL
(https://user:password@host/…), and that is what is checked: the Authorization header against
DISTRIBUTE_POSTMARK_USERNAME and DISTRIBUTE_POSTMARK_PASSWORD, both compared in constant time.

Postmark's MessageID is its own id, not the Message-ID header, so message_id comes only from the
message's headers when the payload carries them ("Headers"); our delivery reference comes from
the Metadata sent with the message (DELIVERY_VARIABLE) or from those headers. Bounce and spam
complaint records have an ID of their own; other records are identified by a hash of the record.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from distribute.feedback.webhooks.events import (
    DELIVERY_HEADER,
    DELIVERY_VARIABLE,
    MESSAGE_ID_VARIABLE,
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

PROVIDER = "postmark"

# RecordType -> (vocabulary word, the field with its time). "Bounce" is decided by BOUNCE_TYPES,
# "SubscriptionChange" in _type().
RECORD_TYPES: dict[str, tuple[str, str]] = {
    "Delivery": ("delivered", "DeliveredAt"),
    "Bounce": ("bounced", "BouncedAt"),
    "SpamComplaint": ("complained", "BouncedAt"),
    "Open": ("opened", "ReceivedAt"),
    "Click": ("clicked", "ReceivedAt"),
    "SubscriptionChange": ("unsubscribed", "ChangedAt"),
}

# Bounce Type -> vocabulary word (None: not about this message reaching anyone). The Type is kept
# as bounce_type; whether a bounce is hard or soft is the classifier's call, from the details.
BOUNCE_TYPES: dict[str, str | None] = {
    "HardBounce": "bounced",
    "SoftBounce": "bounced",  # refused for now (mailbox full …); Postmark does not retry it
    "Transient": "deferred",  # "message delayed": a delay warning, delivery may still happen
    "DnsError": "bounced",
    "Blocked": "bounced",  # the receiver blocks us: never suppresses the address (classifier)
    "DMARCPolicy": "bounced",
    "SpamNotification": "bounced",  # a filter refused or binned it: not a person's complaint
    "VirusNotification": "bounced",
    "Unknown": "bounced",
    "SpamComplaint": "complained",
    "Unsubscribe": "unsubscribed",  # an unsubscribe request mailed back to us
    # Postmark refused to send: its own suppression or a bad address, before any receiver.
    "BadEmailAddress": "rejected",
    "ManuallyDeactivated": "rejected",
    "Unconfirmed": "rejected",
    "SMTPApiError": "rejected",
    "TemplateRenderingFailed": "rejected",
    # Mail that came back but says nothing about delivery.
    "AutoResponder": None,
    "AddressChange": None,
    "ChallengeVerification": None,
    "Subscribe": None,
    "OpenRelayTest": None,
    "InboundError": None,
}

# SuppressionReason of a SubscriptionChange that repeats what a Bounce or SpamComplaint record
# already said: reported there, so not again as an unsubscribe.
REPEATED_SUPPRESSIONS = frozenset({"HardBounce", "SpamComplaint"})


def verify(headers: Mapping[str, str], username: str, password: str) -> None:
    authorization = lower_headers(headers).get("authorization")
    if not authorization:
        raise WebhookRejected("postmark: no Authorization header (put the credentials in the webhook URL)")
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        raise WebhookRejected("postmark: the Authorization header is not HTTP Basic")
    try:
        given_user, colon, given_password = base64.b64decode(encoded.strip(), validate=True).partition(b":")
    except (binascii.Error, ValueError):
        raise WebhookRejected("postmark: the Authorization header is not base64") from None
    # Both compared every time, so the time taken says nothing about which one was wrong.
    user_ok = hmac.compare_digest(given_user, username.encode("utf-8"))
    password_ok = hmac.compare_digest(given_password, password.encode("utf-8"))
    if not (colon and user_ok and password_ok):
        raise WebhookRejected("postmark: wrong webhook credentials")


def parse(headers: Mapping[str, str], body: bytes, *, username: str, password: str,
          now: Callable[[], datetime]) -> WebhookResult:
    verify(headers, username, password)
    record = load_json(body, PROVIDER)
    if not isinstance(record, dict) or not isinstance(record.get("RecordType"), str):
        raise WebhookInvalid("postmark: the body is not a record with a RecordType")
    type_ = _type(record)
    if type_ is None:
        return WebhookResult(events=[])
    return WebhookResult(events=[_event(type_, record, now)])


def _type(record: dict[str, Any]) -> str | None:
    kind = record["RecordType"]
    if kind not in RECORD_TYPES:
        return None  # a kind added after this was written
    type_ = RECORD_TYPES[kind][0]
    if kind == "Bounce":
        return BOUNCE_TYPES.get(word(record.get("Type")) or "", "bounced")
    if kind == "SubscriptionChange":
        if record.get("SuppressSending") is not True or word(record.get("SuppressionReason")) in REPEATED_SUPPRESSIONS:
            return None  # a reactivation, or a bounce / complaint reported on its own
    return type_


def _event(type_: str, record: dict[str, Any], now: Callable[[], datetime]) -> ProviderEvent:
    kind = record["RecordType"]
    time_field = RECORD_TYPES[kind][1]
    # Postmark sends some bounces with "BouncedAt": null; the time we hear of it is the nearest.
    when = record.get(time_field)
    metadata = record.get("Metadata") if isinstance(record.get("Metadata"), dict) else {}
    headers = record.get("Headers")
    geo = record.get("Geo") if isinstance(record.get("Geo"), dict) else {}
    failure = kind in ("Bounce", "SpamComplaint")
    own_id = record.get("ID") if failure else None
    return ProviderEvent(
        provider=PROVIDER,
        type=type_,
        event_id=str(own_id) if isinstance(own_id, (int, str)) and own_id != "" else fingerprint(PROVIDER, record),
        at=now() if when is None else from_iso(when, f"postmark: {kind} {time_field}"),
        recipient=text_or_none(record.get("Recipient")) or text_or_none(record.get("Email")),
        message_id=bare_message_id(header_value(headers, "Message-ID") or metadata.get(MESSAGE_ID_VARIABLE)),
        delivery_ref=text_or_none(metadata.get(DELIVERY_VARIABLE)) or header_value(headers, DELIVERY_HEADER),
        status=None,  # Postmark gives no enhanced status of its own; it may be in the details
        diagnostic=(text_or_none(record.get("Details")) or text_or_none(record.get("Description"))) if failure else (
            text_or_none(record.get("SuppressionReason")) if kind == "SubscriptionChange" else None
        ),
        bounce_type=text_or_none(record.get("Type")) if failure else None,
        url=text_or_none(record.get("OriginalLink")),
        user_agent=text_or_none(record.get("UserAgent")),
        ip=text_or_none(geo.get("IP")),
        raw=record,
    )


class Postmark(Provider):
    name = PROVIDER
    secrets = ("postmark_username", "postmark_password")
    refused = ("postmark: webhooks are refused until DISTRIBUTE_POSTMARK_USERNAME and DISTRIBUTE_POSTMARK_PASSWORD"
               " are set")

    def read(self, headers, body, secrets, *, fetch_cert, now, tokens) -> WebhookResult:
        return parse(headers, body, username=secrets["postmark_username"], password=secrets["postmark_password"],
                     now=now)
