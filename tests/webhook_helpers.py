"""ESP webhook requests as each provider signs them, for the tests: payloads written from the
providers' documented examples (tests/data/webhooks/), and keys and certificates generated here
(the test machine has no internet: the SNS certificate is supplied through `fetch_cert`).
The fixtures (sns_key, fetcher, sendgrid_key) reach every test through conftest's pytest_plugins."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from distribute.feedback.webhooks.registry import parse_webhook

from conftest import DATA as TEST_DATA

DATA = TEST_DATA / "webhooks"
REF = "k3J9xQ2vL7mPa1Zt"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-events"
CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"


def fixture(*path: str):
    return json.loads((DATA.joinpath(*path)).read_text())


def clock():
    return NOW


class CertFetcher:
    """fetch_cert for tests: serves one PEM and remembers every URL asked for."""

    def __init__(self, pem: bytes):
        self.pem = pem
        self.calls: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.calls.append(url)
        return self.pem


@pytest.fixture(scope="module")
def sns_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=30))
        .not_valid_after(NOW + timedelta(days=300))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def fetcher(sns_key):
    return CertFetcher(sns_key[1])


def canonical(message: dict) -> bytes:
    """The SNS string to sign, written out here independently of the code under test."""
    if message["Type"] == "Notification":
        names = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    else:
        names = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    return "".join(f"{name}\n{message[name]}\n" for name in names if name in message).encode()


def sign_sns(message: dict, key, version: str = "1") -> dict:
    message = dict(message, SignatureVersion=version)
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = key.sign(canonical(message), padding.PKCS1v15(), algorithm)
    message["Signature"] = base64.b64encode(signature).decode()
    return message


def notification(record: dict, *, message_id: str = "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", **extra) -> dict:
    message = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": TOPIC,
        "Message": json.dumps(record),
        "Timestamp": "2026-11-25T11:59:58.123Z",
        "SigningCertURL": CERT_URL,
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + TOPIC + ":x",
    }
    message.update(extra)
    return message


def post_ses(message: dict, fetcher, *, topics=frozenset({TOPIC}), headers=None):
    body = json.dumps(message).encode()
    headers = {"x-amz-sns-message-type": message.get("Type", "")} if headers is None else headers
    return parse_webhook("ses", headers, body, {"sns_topic_arns": ",".join(topics)}, fetch_cert=fetcher, now=clock)


@pytest.fixture(scope="module")
def sendgrid_key():
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key, base64.b64encode(der).decode()


def sendgrid_headers(key, body: bytes, timestamp: str = "1764072000") -> dict:
    signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        "Content-Type": "application/json",
    }


def post_sendgrid(body: bytes, headers: dict, public_key: str | None):
    return parse_webhook("sendgrid", headers, body, {"sendgrid_public_key": public_key})


MAILGUN_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"


def mailgun_body(payload: dict, *, key: str = MAILGUN_KEY, at: datetime = NOW, token: str = "a" * 50) -> bytes:
    payload = copy.deepcopy(payload)
    timestamp = str(int(at.timestamp()))
    digest = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    payload["signature"] = {"timestamp": timestamp, "token": token, "signature": digest}
    return json.dumps(payload).encode()


class MemoryTokens:
    """A TokenStore in a dict, for the parser's tests (the web app's shared ones are tested in
    tests/web/test_public.py, on Redis and the databases)."""

    def __init__(self):
        self.kept: dict[str, tuple[str, datetime]] = {}

    def claim(self, key: str, digest: str, until: datetime) -> str | None:
        if key in self.kept:
            return self.kept[key][0]
        self.kept[key] = (digest, until)
        return None


def post_mailgun(body: bytes, key: str | None = MAILGUN_KEY, tokens=None):
    return parse_webhook("mailgun", {"Content-Type": "application/json"}, body,
                         {"mailgun_signing_key": key}, now=clock, tokens=tokens or MemoryTokens())


def basic(username: str, password: str) -> dict:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Content-Type": "application/json"}


POSTMARK_SECRETS = {"postmark_username": "postmark", "postmark_password": "s3cret-hook-password"}


def post_postmark(body, headers=None, secrets=POSTMARK_SECRETS):
    body = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_webhook("postmark", basic("postmark", "s3cret-hook-password") if headers is None else headers,
                         body, secrets, now=clock)
