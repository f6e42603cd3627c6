"""Mailgun webhooks (the JSON kind): {"signature": {"timestamp", "token", "signature"}, "event-data": {…}}.

The signature is the hex HMAC-SHA256 of timestamp + token under the webhook signing key
(Mailgun, "Securing Webhooks"), compared in constant time. A timestamp further than TOLERANCE
from our clock, either way, is refused: a captured request cannot be replayed later.

The signature does not cover event-data, so within the window one captured request could carry
any event for any delivery (a forged complaint suppresses a contact). Each token is therefore
good for one event: the first request with it binds the token to a digest of its event-data in
a store shared by every web process (TokenStore), kept until the timestamp can no longer pass.
The same token with other event-data is refused. The same token with the same event-data is
read again as usual: it is the same request (a copy, or Mailgun trying again after one of our
5xx, which must not be refused or Mailgun retries for 8 hours and the event is lost) and its
event is recorded once all the same, by event-data.id.

Mailgun says event-data.id is unique "within a day" only; a collision across days would make a
later event look like a duplicate. It is taken as event_id all the same, as asked.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from distribute.feedback.webhooks.events import (
    DELIVERY_HEADER,
    DELIVERY_VARIABLE,
    MESSAGE_ID_VARIABLE,
    Provider,
    ProviderEvent,
    TokenStore,
    WebhookInvalid,
    WebhookRejected,
    WebhookResult,
    bare_message_id,
    fingerprint,
    from_epoch,
    header_value,
    load_json,
    text_or_none,
    word,
)

PROVIDER = "mailgun"
TOLERANCE = timedelta(minutes=15)
# Web machines' clocks may differ by this much: a used token is kept this much longer than the
# window in which its own timestamp is accepted.
CLOCK_SKEW = timedelta(minutes=5)

# Mailgun event -> vocabulary word; None: known, and not an event for us. "failed" is decided by
# FAILED_BY_SEVERITY below.
EVENT_TYPES: dict[str, str | None] = {
    "accepted": None,  # queued at Mailgun: nothing has happened to the message yet
    "delivered": "delivered",
    "failed": "bounced",
    "opened": "opened",
    "clicked": "clicked",
    "unsubscribed": "unsubscribed",
    "complained": "complained",
    "rejected": "rejected",  # Mailgun refused the request
    "stored": None,
    "list_member_uploaded": None,
    "list_member_upload_error": None,
    "list_uploaded": None,
}
# A "temporary" failure is one Mailgun will retry; a "permanent" one it has given up on.
FAILED_BY_SEVERITY = {"permanent": "bounced", "temporary": "deferred"}
# reason of a permanent failure Mailgun made up without sending: the address is on one of its
# suppression lists. A refusal by the ESP, not a bounce.
SUPPRESSED_REASONS = frozenset({"suppress-bounce", "suppress-unsubscribe", "suppress-complaint"})


def verify(signature: Any, signing_key: str, *, now: Callable[[], datetime],
           tolerance: timedelta = TOLERANCE) -> tuple[str, datetime]:
    """The signature's token and time, or WebhookRejected."""
    if not isinstance(signature, dict):
        raise WebhookRejected("mailgun: the body has no signature object")
    timestamp, token, given = (signature.get(name) for name in ("timestamp", "token", "signature"))
    if not timestamp or not token or not isinstance(given, str) or not given:
        raise WebhookRejected("mailgun: the signature is missing its timestamp, token or signature")
    timestamp, token = str(timestamp), str(token)
    expected = hmac.new(signing_key.encode("utf-8"), (timestamp + token).encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given.strip().lower()):
        raise WebhookRejected("mailgun: the signature does not match")
    try:
        signed_at = from_epoch(timestamp, "mailgun: signature timestamp")
    except WebhookInvalid:
        raise WebhookRejected(f"mailgun: the signature timestamp is not a time: {timestamp!r}") from None
    if abs(now() - signed_at) > tolerance:
        raise WebhookRejected(f"mailgun: the signature timestamp {signed_at.isoformat()} is stale")
    return token, signed_at


def parse(
    headers: Mapping[str, str],
    body: bytes,
    *,
    signing_key: str,
    tokens: TokenStore,
    now: Callable[[], datetime],
    tolerance: timedelta = TOLERANCE,
) -> WebhookResult:
    payload = load_json(body, PROVIDER)
    if not isinstance(payload, dict):
        raise WebhookInvalid("mailgun: the body is not a JSON object (legacy form-encoded webhooks are not read)")
    token, signed_at = verify(payload.get("signature"), signing_key, now=now, tolerance=tolerance)
    data = payload.get("event-data")
    if not isinstance(data, dict) or word(data.get("event")) is None:
        raise WebhookInvalid("mailgun: the body has no event-data with an event")
    digest = fingerprint(PROVIDER, data)
    used_for = tokens.claim(f"{PROVIDER}:{token}", digest, signed_at + tolerance + CLOCK_SKEW)
    if used_for is not None and used_for != digest:
        raise WebhookRejected("mailgun: the signature token was used already, for another event (a replayed signature)")
    name = data["event"]
    type_ = EVENT_TYPES.get(name)
    if type_ is None:
        return WebhookResult(events=[])
    if name == "failed":
        type_ = FAILED_BY_SEVERITY.get(word(data.get("severity")) or "", "bounced")
        if word(data.get("reason")) in SUPPRESSED_REASONS:
            type_ = "rejected"
    return WebhookResult(events=[_event(type_, data)])


def _event(type_: str, data: dict[str, Any]) -> ProviderEvent:
    message = data.get("message") if isinstance(data.get("message"), dict) else {}
    headers = message.get("headers")
    variables = data.get("user-variables") if isinstance(data.get("user-variables"), dict) else {}
    status = data.get("delivery-status") if isinstance(data.get("delivery-status"), dict) else {}
    client = data.get("client-info") if isinstance(data.get("client-info"), dict) else {}
    failure = type_ in ("bounced", "deferred", "rejected")
    reject = data.get("reject") if isinstance(data.get("reject"), dict) else {}
    return ProviderEvent(
        provider=PROVIDER,
        type=type_,
        event_id=text_or_none(data.get("id")) or fingerprint(PROVIDER, data),
        at=from_epoch(data.get("timestamp"), f"mailgun: {data['event']} timestamp"),
        recipient=text_or_none(data.get("recipient")),
        message_id=bare_message_id(header_value(headers, "message-id") or variables.get(MESSAGE_ID_VARIABLE)),
        delivery_ref=text_or_none(variables.get(DELIVERY_VARIABLE)) or header_value(headers, DELIVERY_HEADER),
        status=text_or_none(status.get("enhanced-code")) if failure else None,
        diagnostic=(_diagnostic(status) or text_or_none(reject.get("reason"))) if failure else None,
        bounce_type=_verdict(data) if failure else None,
        url=text_or_none(data.get("url")),
        user_agent=text_or_none(client.get("user-agent")),
        ip=text_or_none(data.get("ip")) or text_or_none(client.get("client-ip")),
        raw=data,
    )


def _diagnostic(status: dict[str, Any]) -> str | None:
    """The receiver's reply as one line, code first, as the classifier reads SMTP replies."""
    text = text_or_none(status.get("message")) or text_or_none(status.get("description"))
    code = status.get("code")
    if isinstance(code, int) and not isinstance(code, bool) and text and not text.startswith(str(code)):
        return f"{code} {text}"
    return text or (str(code) if isinstance(code, int) and code else None)


def _verdict(data: dict[str, Any]) -> str | None:
    parts = [text for text in (text_or_none(data.get("severity")), text_or_none(data.get("reason"))) if text]
    return "/".join(parts) or None


class Mailgun(Provider):
    name = PROVIDER
    secrets = ("mailgun_signing_key",)
    refused = "mailgun: webhooks are refused until DISTRIBUTE_MAILGUN_SIGNING_KEY is set"

    def read(self, headers, body, secrets, *, fetch_cert, now, tokens) -> WebhookResult:
        if tokens is None:
            raise ValueError("mailgun webhooks need a TokenStore: its signature does not cover the event")
        return parse(headers, body, signing_key=secrets["mailgun_signing_key"], tokens=tokens, now=now)
