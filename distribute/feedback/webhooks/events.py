"""The one shape every ESP webhook is turned into, and the small helpers the provider modules share.

A provider module verifies a request and maps the provider's own event names into VOCABULARY
through a table at its top (django-anymail's habit): everything provider-specific stays there,
and what leaves this package is a list of ProviderEvent with the raw payload kept beside it.
Nothing here touches a database or the network.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, ClassVar, Protocol

# The same words as distribute.states.FEEDBACK_TYPES (this package imports nothing from the rest).
VOCABULARY = ("delivered", "bounced", "deferred", "complained", "opened", "clicked", "unsubscribed", "rejected")

# Our own header on every message, and the name of the same value where a provider carries
# metadata instead of headers (SendGrid custom args, Mailgun user-variables, Postmark Metadata).
DELIVERY_HEADER = "X-Distribute-Delivery"
DELIVERY_VARIABLE = "distribute_delivery"
MESSAGE_ID_VARIABLE = "distribute_message_id"


class WebhookRejected(Exception):
    """The request is not proven to come from the provider: a bad or missing signature or
    credentials, a stale timestamp, an unconfigured secret, a topic we do not accept (HTTP 400/401)."""


class WebhookInvalid(Exception):
    """The request is authentic as far as we can tell, or cannot even be checked, but its body is
    not what the provider sends (HTTP 400)."""


@dataclass(frozen=True)
class ProviderEvent:
    provider: str  # "ses" | "sendgrid" | "mailgun" | "postmark"
    type: str  # one of VOCABULARY
    # The provider's own id for this event, else a sha256 of the canonical raw event: the same
    # webhook delivered twice gives the same id, so recording it twice is a no-op.
    event_id: str
    at: datetime  # aware, UTC
    recipient: str | None = None
    message_id: str | None = None  # our RFC 5322 Message-ID, without angle brackets
    delivery_ref: str | None = None  # our X-Distribute-Delivery value
    status: str | None = None  # enhanced status code ("5.1.1") when the provider gives one
    diagnostic: str | None = None  # the bounce / complaint / rejection text
    bounce_type: str | None = None  # the provider's own verdict, data only ("Permanent", "HardBounce" …)
    url: str | None = None  # clicked
    user_agent: str | None = None
    ip: str | None = None
    raw: dict = field(default_factory=dict)  # the provider's payload for this one event

    def __post_init__(self):
        if self.type not in VOCABULARY:
            raise ValueError(f"unknown event type {self.type!r}")
        if self.at.tzinfo is None or self.at.utcoffset() != timedelta(0):
            raise ValueError("ProviderEvent.at must be an aware UTC datetime")


@dataclass(frozen=True)
class WebhookResult:
    events: list[ProviderEvent]
    # SNS SubscriptionConfirmation, signature verified: the caller confirms by fetching it (or not).
    subscribe_url: str | None = None


class Provider:
    """One ESP (django-anymail's habit): a class that verifies a request and reads its events,
    registered by one line in distribute.feedback.webhooks.registry.

    `secrets` names the settings it needs (fields of distribute.config.Settings, DISTRIBUTE_ and
    the name in capitals, declared there once); while any of them is unset, every request is
    refused with `refused`, naming what to set."""

    name: ClassVar[str]
    secrets: ClassVar[tuple[str, ...]]
    refused: ClassVar[str]

    def read(self, headers: Mapping[str, str], body: bytes, secrets: Mapping[str, Any], *,
             fetch_cert: Callable[[str], bytes], now: Callable[[], datetime],
             tokens: TokenStore | None) -> WebhookResult:
        raise NotImplementedError


# --- helpers shared by the provider modules ------------------------------------------------------


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names are case-insensitive (RFC 9110 section 5.1): look them up lowercased."""
    return {str(name).lower(): value for name, value in headers.items()}


def fingerprint(*parts: Any) -> str:
    """sha256 of the canonical JSON of `parts`: keys sorted, no whitespace, so the same event
    serialised differently on a retry still gives the same id."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class TokenStore(Protocol):
    """Signature tokens already used, shared by every web process on every machine (the web
    layer passes one in: distribute.web.public.replay), so that a signature is good for one event."""

    def claim(self, key: str, digest: str, until: datetime) -> str | None:
        """Keep `digest` under `key` until `until` and return None, unless `key` is kept already:
        then return the digest kept with it, and change nothing."""


def load_json(body: bytes, provider: str) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookInvalid(f"{provider}: the body is not JSON ({exc})") from None
    except RecursionError:
        # json recurses once per nesting level: "[[[[…" a few thousand deep, unauthenticated,
        # would otherwise be a 500 with a traceback. No provider nests beyond a dozen levels.
        raise WebhookInvalid(f"{provider}: the body is nested too deeply to be a webhook") from None


def from_epoch(value: Any, what: str) -> datetime:
    try:
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        raise WebhookInvalid(f"{what}: not a timestamp: {value!r}") from None


def from_iso(value: Any, what: str) -> datetime:
    """An ISO 8601 time as providers write it ("2017-08-05T00:41:02.669Z",
    "2014-08-01T13:28:10.2735393-04:00": Python 3.11 reads both), in UTC. A time without a zone
    is taken as UTC."""
    if not isinstance(value, str) or not value:
        raise WebhookInvalid(f"{what}: not a time: {value!r}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise WebhookInvalid(f"{what}: not a time: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def word(value: Any) -> str | None:
    """`value` if it is a string, for looking up in a mapping table: a list or an object where
    a name belongs is malformed data, and must not become a TypeError (a 500) on the way."""
    return value if isinstance(value, str) else None


def bare_message_id(value: Any) -> str | None:
    """A Message-ID without its angle brackets and surrounding space, or None."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1].strip()
    return value or None


def text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        # A NUL (a receiving server's reply can carry anything) cannot be stored in a PostgreSQL
        # text column: recording the event would fail, a 500, and the provider retry it for days.
        value = value.replace("\x00", "").strip()
        return value or None
    return None


def header_value(headers: Any, name: str) -> str | None:
    """The first value of header `name` from the shapes providers use: a list of
    {"name"/"Name": …, "value"/"Value": …} objects, or a mapping of name to value (or to a list)."""
    wanted = name.lower()
    if isinstance(headers, Mapping):
        for key, value in headers.items():
            if str(key).lower() == wanted:
                if isinstance(value, list):
                    value = value[0] if value else None
                return text_or_none(value)
        return None
    if isinstance(headers, list):
        for item in headers:
            if not isinstance(item, Mapping):
                continue
            key = item.get("name", item.get("Name"))
            if isinstance(key, str) and key.lower() == wanted:
                return text_or_none(item.get("value", item.get("Value")))
    return None
