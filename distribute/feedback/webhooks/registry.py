"""ESP webhooks: verify the request, then normalise what it says into ProviderEvents.

    secrets = webhook_secrets(settings)  # once, when the app starts
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
tokens already used that every web process shares (see distribute.feedback.webhooks.mailgun).

Each provider is one class (distribute.feedback.webhooks.events.Provider) in its own module; adding
one is that module and one line in PROVIDERS below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from distribute.feedback.webhooks import mailgun, postmark, sendgrid, ses, sns
from distribute.feedback.webhooks.events import (
    VOCABULARY,
    Provider,
    ProviderEvent,
    TokenStore,
    WebhookInvalid,
    WebhookRejected,
    WebhookResult,
)
from distribute.feedback.webhooks.sns import CertificateUnavailable

__all__ = [
    "PROVIDERS",
    "CertificateUnavailable",
    "VOCABULARY",
    "ProviderEvent",
    "TokenStore",
    "WebhookInvalid",
    "WebhookRejected",
    "WebhookResult",
    "parse_webhook",
    "webhook_secrets",
]

PROVIDERS: dict[str, Provider] = {provider.name: provider for provider in (
    ses.SES(),
    sendgrid.SendGrid(),
    mailgun.Mailgun(),
    postmark.Postmark(),
)}


def webhook_secrets(settings: Any) -> dict[str, Any]:
    """What every provider needs, read from the settings (distribute.config.Settings, where each
    is declared): the one place the web app takes them from."""
    return {name: getattr(settings, name) for provider in PROVIDERS.values() for name in provider.secrets}


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def parse_webhook(
    provider: str,
    headers: Mapping[str, str],
    body: bytes,
    secrets: Mapping[str, Any],
    *,
    fetch_cert: Callable[[str], bytes] = sns.fetch_cert,
    now: Callable[[], datetime] = _utcnow,
    tokens: TokenStore | None = None,
) -> WebhookResult:
    """Verify one webhook request and return its events in the one vocabulary.

    `headers` may be any mapping (names are matched case-insensitively), `body` the raw bytes as
    received: signatures are over those bytes. `secrets` maps setting names to values, as
    webhook_secrets makes it (a provider whose secret is missing or empty refuses everything).
    `fetch_cert(url) -> bytes` fetches an SNS signing certificate (the default uses urllib with a
    timeout and a cache); `now()` is the clock; `tokens` remembers Mailgun's signature tokens
    (required for Mailgun).
    Raises WebhookRejected, WebhookInvalid, or ValueError for a provider not in PROVIDERS."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    handler = PROVIDERS.get(provider)
    if handler is None:
        raise ValueError(f"unknown webhook provider {provider!r}; known: {', '.join(PROVIDERS)}")
    if not all(secrets.get(name) for name in handler.secrets):
        raise WebhookRejected(handler.refused)
    return handler.read(headers, body, secrets, fetch_cert=fetch_cert, now=now, tokens=tokens)
