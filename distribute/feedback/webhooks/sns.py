"""Amazon SNS messages posted to an HTTPS endpoint (how SES notifications reach us): the check
of their signature, as the SNS developer guide ("Verifying the signatures of Amazon SNS
messages") describes it:

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
SNS: which topics are taken is the SES reader's decision (distribute.feedback.webhooks.ses).
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

from distribute.feedback.webhooks.events import WebhookInvalid, WebhookRejected, word

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
