"""ESP webhooks: verify the request, then normalise what it says into ProviderEvents.

    result = parse_webhook("sendgrid", request.headers, request.get_data(), secrets)

Pure code: no database, no web framework. The HTTP layer maps the outcome: WebhookRejected ->
400/401 (not proven to come from the provider), WebhookInvalid -> 400 (not a body the provider
sends), anything else raised is our fault -> 5xx so the provider retries, and a result -> 200
(an empty one too: a known event we do not act on, or a duplicate, which recording ignores by
event_id). CertificateUnavailable (the SNS signing certificate could not be fetched) is one
of ours too. For SNS, result.subscribe_url is set on a verified SubscriptionConfirmation; fetching
it confirms the subscription, and that is the caller's decision.

A provider whose secret is not configured has every request refused, with the setting to set:
nothing unsigned is ever taken because a key was forgotten. SNS is signed by AWS for every
account alike (anyone can publish a validly signed message to a topic of their own), so its
"secret" is the list of topics we accept (DISTRIBUTE_SNS_TOPIC_ARNS): without it, every SES
webhook is refused.

Mailgun signs a timestamp and a token but not the event, so it needs `tokens`, a store of the
tokens already used that every web process shares (see distribute.webhooks.mailgun).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from distribute.webhooks import mailgun, postmark, sendgrid, ses
from distribute.webhooks.ses import CertificateUnavailable
from distribute.webhooks.events import (
    VOCABULARY,
    ProviderEvent,
    TokenStore,
    WebhookInvalid,
    WebhookRejected,
    WebhookResult,
)

__all__ = [
    "PROVIDERS",
    "CertificateUnavailable",
    "VOCABULARY",
    "ProviderEvent",
    "TokenStore",
    "WebhookInvalid",
    "WebhookRejected",
    "WebhookResult",
    "WebhookSecrets",
    "parse_webhook",
]

PROVIDERS = ("ses", "sendgrid", "mailgun", "postmark")


@dataclass(frozen=True)
class WebhookSecrets:
    sendgrid_public_key: str | None = None
    mailgun_signing_key: str | None = None
    postmark_username: str | None = None
    postmark_password: str | None = None
    sns_topic_arns: frozenset[str] = frozenset()  # empty: SES webhooks are refused


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def parse_webhook(
    provider: str,
    headers: Mapping[str, str],
    body: bytes,
    secrets: WebhookSecrets,
    *,
    fetch_cert: Callable[[str], bytes] = ses.fetch_cert,
    now: Callable[[], datetime] = _utcnow,
    tokens: TokenStore | None = None,
) -> WebhookResult:
    """Verify one webhook request and return its events in the one vocabulary.

    `headers` may be any mapping (names are matched case-insensitively), `body` the raw bytes as
    received: signatures are over those bytes. `fetch_cert(url) -> bytes` fetches an SNS signing
    certificate (the default uses urllib with a timeout and a cache); `now()` is the clock;
    `tokens` remembers Mailgun's signature tokens (required for Mailgun).
    Raises WebhookRejected, WebhookInvalid, or ValueError for a provider not in PROVIDERS."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    if provider == "ses":
        if not secrets.sns_topic_arns:
            raise WebhookRejected("ses: webhooks are refused until DISTRIBUTE_SNS_TOPIC_ARNS names the topics to accept")
        return ses.parse(headers, body, topic_arns=frozenset(secrets.sns_topic_arns), fetch_cert=fetch_cert, now=now)
    if provider == "sendgrid":
        if not secrets.sendgrid_public_key:
            raise WebhookRejected("sendgrid: webhooks are refused until DISTRIBUTE_SENDGRID_PUBLIC_KEY is set")
        return sendgrid.parse(headers, body, public_key=secrets.sendgrid_public_key)
    if provider == "mailgun":
        if not secrets.mailgun_signing_key:
            raise WebhookRejected("mailgun: webhooks are refused until DISTRIBUTE_MAILGUN_SIGNING_KEY is set")
        if tokens is None:
            raise ValueError("mailgun webhooks need a TokenStore: its signature does not cover the event")
        return mailgun.parse(headers, body, signing_key=secrets.mailgun_signing_key, tokens=tokens, now=now)
    if provider == "postmark":
        if not secrets.postmark_username or not secrets.postmark_password:
            raise WebhookRejected(
                "postmark: webhooks are refused until DISTRIBUTE_POSTMARK_USERNAME and"
                " DISTRIBUTE_POSTMARK_PASSWORD are set"
            )
        return postmark.parse(headers, body, username=secrets.postmark_username, password=secrets.postmark_password,
                              now=now)
    raise ValueError(f"unknown webhook provider {provider!r}; known: {', '.join(PROVIDERS)}")
