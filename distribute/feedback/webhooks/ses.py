"""Amazon SES notifications, delivered by Amazon SNS to an HTTPS endpoint.

Verification, as the SNS developer guide ("Verifying the signatures of Amazon SNS messages")
describes it:

* SigningCertURL must be https on an SNS host of AWS, `sns.<region>.amazonaws.com` (or
  `.amazonaws.com.cn`), and is checked before anything is fetched, so a forged message cannot
  make us request a URL of its choosing. The host's region must also be the TopicArn's.
* The string to sign is "Key\\nValue\\n" for each field of the message type, in this order:
  Notification: Message, MessageId, Subject (only if present), Timestamp, TopicArn, Type;
  SubscriptionConfirmation / UnsubscribeConfirmation: Message, MessageId, SubscribeURL,
  Timestamp, Token, TopicArn, Type.
* SignatureVersion 1 is RSA PKCS#1 v1.5 with SHA1, version 2 with SHA256, both checked with the
  public key of the certificate at SigningCertURL. The certificate's trust comes from having
  fetched it over verified TLS from that AWS host; redirects are refused.

SNS signs for any AWS account, so the signature proves only that the message passed through
SNS. DISTRIBUTE_SNS_TOPIC_ARNS names the topics we accept (parse_webhook refuses everything
without it).

Both SES shapes are read: identity notifications ("notificationType": Bounce, Complaint,
Delivery) and event publishing through a configuration set ("eventType": also Send, Reject,
Open, Click, Rendering Failure, DeliveryDelay, Subscription). One record becomes one event per
recipient it names. SES has no id per event, so event_id is a hash of the SES record and the
recipient: a retried SNS delivery, or the same record published to a second topic, has the same.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import re
import threading
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

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

PROVIDER = "ses"

# SES event name -> vocabulary word. None: known, and deliberately not an event for us.
# "Bounce" is "bounced" whatever its bounceType: SES reports a Transient bounce only once it has
# stopped retrying, so the message is not coming. bounceType is kept as data and the classifier
# judges hard or soft from the status and diagnostic. "Subscription" is decided in _events().
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

# The field names in the string to sign, by SNS message type (the order is the AWS order).
SIGNED_FIELDS: dict[str, tuple[str, ...]] = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
OPTIONAL_FIELDS = frozenset({"Subject"})
SIGNATURE_HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}

_CERT_HOST = re.compile(r"sns\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?")
_TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:([a-z0-9-]+):\d{12}:[\w.-]{1,256}")  # FIFO: "name.fifo"

FETCH_TIMEOUT_SECONDS = 5.0
MAX_CERT_BYTES = 64 * 1024

FetchCert = Callable[[str], bytes]


class CertificateUnavailable(RuntimeError):
    """The signing certificate could not be fetched (network, timeout, AWS trouble). Our fault,
    not the sender's: the HTTP layer answers 5xx and SNS retries later."""


# --- the signing certificate ---------------------------------------------------------------------


def check_cert_url(url: Any) -> str:
    """The region of a SigningCertURL we may fetch, or WebhookRejected. Nothing is fetched here."""
    if not isinstance(url, str) or not url:
        raise WebhookRejected("ses: the SNS message has no SigningCertURL")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise WebhookRejected(f"ses: SigningCertURL is not a URL: {url!r}") from None
    host = (parts.hostname or "").lower()
    match = _CERT_HOST.fullmatch(host)
    if parts.scheme != "https" or match is None or parts.username or parts.password or port not in (None, 443):
        raise WebhookRejected(f"ses: SigningCertURL is not an https URL on an SNS host of AWS: {url!r}")
    return match.group(1)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # The host was checked, not where it might send us.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise urllib.error.HTTPError(req.full_url, code, f"redirect to {newurl} refused", headers, fp)


_opener = urllib.request.build_opener(_NoRedirect)
_cache: OrderedDict[str, bytes] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 16


def fetch_cert(url: str) -> bytes:
    """The PEM at `url` (an SNS SigningCertURL), fetched with a timeout over verified TLS and kept
    in this process: SNS signs with few certificates, and rotates them rarely."""
    check_cert_url(url)
    with _cache_lock:
        if url in _cache:
            _cache.move_to_end(url)
            return _cache[url]
    try:
        with _opener.open(url, timeout=FETCH_TIMEOUT_SECONDS) as response:
            pem = response.read(MAX_CERT_BYTES + 1)
    except urllib.error.HTTPError as exc:
        if 400 <= exc.code < 500 or 300 <= exc.code < 400:  # no certificate there, or a redirect
            raise WebhookRejected(f"ses: no signing certificate at {url} ({exc.code})") from None
        raise CertificateUnavailable(f"ses: could not fetch the signing certificate {url}: {exc}") from exc
    except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, a cut connection
        raise CertificateUnavailable(f"ses: could not fetch the signing certificate {url}: {exc}") from exc
    if len(pem) > MAX_CERT_BYTES:
        raise WebhookRejected(f"ses: the signing certificate at {url} is too large")
    try:  # only a certificate is kept: a page of something else would be served for good
        x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise WebhookRejected(f"ses: {url} is not a PEM certificate") from None
    with _cache_lock:
        _cache[url] = pem
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return pem


def string_to_sign(message: Mapping[str, Any]) -> bytes:
    fields = SIGNED_FIELDS.get(word(message.get("Type")) or "")
    if fields is None:
        raise WebhookInvalid(f"ses: unknown SNS message type {message.get('Type')!r}")
    lines = []
    for name in fields:
        value = message.get(name)
        if value is None and name in OPTIONAL_FIELDS:
            continue
        if not isinstance(value, str):
            raise WebhookInvalid(f"ses: the SNS {message['Type']} has no {name}")
        lines.append(f"{name}\n{value}\n")
    return "".join(lines).encode("utf-8")


def verify_sns(message: Mapping[str, Any], *, fetch_cert: FetchCert, now: Callable[[], datetime]) -> None:
    """Raise WebhookRejected unless `message` carries a valid SNS signature."""
    version = word(message.get("SignatureVersion"))
    signature_b64 = message.get("Signature")
    if not signature_b64:
        raise WebhookRejected("ses: the SNS message is not signed (is raw message delivery on?)")
    if version not in SIGNATURE_HASHES:
        raise WebhookRejected(f"ses: unsupported SNS SignatureVersion {version!r}")
    cert_url = message.get("SigningCertURL", message.get("SigningCertUrl"))
    region = check_cert_url(cert_url)  # before any fetch
    arn = _TOPIC_ARN.fullmatch(str(message.get("TopicArn", "")))
    if arn is None:
        raise WebhookInvalid(f"ses: not a topic ARN: {message.get('TopicArn')!r}")
    if arn.group(1) != region:
        raise WebhookRejected(f"ses: the certificate is from {region}, the topic is in {arn.group(1)}")
    signed = string_to_sign(message)
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise WebhookRejected("ses: the SNS Signature is not base64") from None

    pem = fetch_cert(cert_url)
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise WebhookRejected(f"ses: {cert_url} is not a PEM certificate") from None
    moment = now()
    if not certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc:
        raise WebhookRejected("ses: the SNS signing certificate is not valid now")
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise WebhookRejected("ses: the SNS signing certificate has no RSA key")
    try:
        key.verify(signature, signed, padding.PKCS1v15(), SIGNATURE_HASHES[version]())
    except InvalidSignature:
        raise WebhookRejected("ses: the SNS signature does not match") from None


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

    common = {
        "message_id": _message_id(mail),
        "delivery_ref": _delivery_ref(mail),
    }
    # Some records come without mail.timestamp (and a rendering failure has no time of its own):
    # then the time SNS published it, which its signature covers.
    at = from_iso(detail.get("timestamp") or mail.get("timestamp") or published_at, f"ses: {name} timestamp")

    def event(recipient, *, verdict=type_, **fields):
        return ProviderEvent(
            provider=PROVIDER,
            type=verdict,
            event_id=fingerprint(PROVIDER, record, recipient),
            at=at,
            recipient=recipient,
            raw=record,
            **common,
            **fields,
        )

    if name == "Bounce":
        # SES did not even try an address on its own suppression list: a refusal by the ESP.
        verdict = "rejected" if word(detail.get("bounceSubType")) in SES_SUPPRESSED else "bounced"
        for item in _dicts(detail.get("bouncedRecipients")):
            yield event(
                _address(item.get("emailAddress")),
                verdict=verdict,
                status=text_or_none(item.get("status")),
                diagnostic=text_or_none(item.get("diagnosticCode")),
                bounce_type=text_or_none(detail.get("bounceType")),
            )
    elif name == "Complaint":
        kind = text_or_none(detail.get("complaintFeedbackType")) or text_or_none(detail.get("complaintSubType"))
        for item in _dicts(detail.get("complainedRecipients")):
            yield event(_address(item.get("emailAddress")), diagnostic=kind,
                        user_agent=text_or_none(detail.get("userAgent")))
    elif name == "Delivery":
        for recipient in _list(detail.get("recipients")) or _list(mail.get("destination")):
            yield event(_address(recipient))
    elif name == "DeliveryDelay":
        for item in _dicts(detail.get("delayedRecipients")):
            yield event(
                _address(item.get("emailAddress")),
                status=text_or_none(item.get("status")),
                diagnostic=text_or_none(item.get("diagnosticCode")),
                bounce_type=text_or_none(detail.get("delayType")),
            )
    elif name in ("Reject", "Rendering Failure"):
        reason = text_or_none(detail.get("reason")) or text_or_none(detail.get("errorMessage"))
        for recipient in _list(mail.get("destination")) or [None]:
            yield event(_address(recipient), diagnostic=reason)
    elif name in ("Open", "Click"):
        yield event(
            _single_destination(mail),
            url=text_or_none(detail.get("link")),
            user_agent=text_or_none(detail.get("userAgent")),
            ip=text_or_none(detail.get("ipAddress")),
        )
    elif name == "Subscription":
        # Only an opt-out is news to us; a change that leaves the contact subscribed is not.
        if _opted_out(detail.get("newTopicPreferences")):
            yield event(_single_destination(mail), diagnostic=text_or_none(detail.get("source")))


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
