"""A campaign sent in the embedded mode to the file outbox, and the links its messages carry."""

from __future__ import annotations

import email
import re
import string
from dataclasses import dataclass
from email import policy
from pathlib import Path

from conftest import REPO

BASE = "https://press.example.org"


@dataclass
class Sent:
    messages: dict[str, email.message.EmailMessage]  # recipient address -> message

    def html(self, address: str) -> str:
        return self.messages[address].get_body(("html",)).get_content()

    def text(self, address: str) -> str:
        return self.messages[address].get_body(("plain",)).get_content()

    def links(self, address: str) -> list[str]:
        return re.findall(r'href="([^"]+)"', self.html(address))

    def clicks(self, address: str) -> list[str]:
        return [link for link in self.links(address) if link.startswith(f"{BASE}/c/")]

    def pixel(self, address: str) -> str:
        return re.search(r'<img src="([^"]+/o/[^"]+)"', self.html(address)).group(1)

    def unsubscribe(self, address: str) -> str:
        header = str(self.messages[address]["List-Unsubscribe"])
        return re.search(r"<(https://[^>]+)>", header).group(1)


BASE64 = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"  # itsdangerous' URL-safe alphabet
BASE32 = string.ascii_lowercase + "234567"  # VERP tokens, lowercased


def tamper(signature: str, alphabet: str = BASE64) -> str:
    """The signature with its middle character changed, where all of a character's bits count:
    always a different MAC, so a forgery that must always be refused. (Editing the last
    character may touch only the bits the encoding leaves unused: still the same MAC.)"""
    i = len(signature) // 2
    return signature[:i] + alphabet[(alphabet.index(signature[i]) + 1) % len(alphabet)] + signature[i + 1:]


def respell(encoded: str, alphabet: str = BASE64) -> str:
    """The same bytes spelt differently: the lowest, unused bit of the last character flipped
    (unpadded base64 of 32 bytes has two such bits, base32 of 12 bytes four)."""
    return encoded[:-1] + alphabet[alphabet.index(encoded[-1]) ^ 1]


def path(url: str) -> str:
    assert url.startswith(BASE), url
    return url[len(BASE):]


def send_release(run_cli, outbox: Path, *extra: str, settings=None) -> Sent:
    """The sample journalists, the sample release and a "rights" segment, sent to that segment.

    With `settings`, the campaign is sent by the real fan-out and sender code in this thread, to
    the file outbox, without the embedded Celery worker (whose start and stop cost seconds per
    test); without, through `distribute send` itself."""
    assert run_cli("contacts", "import", REPO / "samples" / "contacts.csv", "--kind", "journalist").exit_code == 0
    assert run_cli("release", "add", REPO / "samples" / "release.md").exit_code == 0
    assert run_cli("segments", "add", "rights", "--where", 'beat = "human rights"').exit_code == 0
    if settings is None:
        result = run_cli("send", "1", "--to", "rights", *extra)
        assert result.exit_code == 0, result.output
    else:
        _send_in_process(settings, track="--no-track" not in extra)
    messages = {}
    for file in outbox.rglob("*.eml"):
        msg = email.message_from_bytes(file.read_bytes(), policy=policy.default)
        messages[msg["To"].addresses[0].addr_spec] = msg
    return Sent(messages)


class _Batches:
    """A broker that keeps what it is given, for the test to hand to the sender."""

    def __init__(self):
        self.batches: list[tuple[int, list[int]]] = []

    def enqueue(self, campaign_id: int, delivery_ids: list[int]) -> None:
        self.batches.append((campaign_id, delivery_ids))


def _send_in_process(settings, *, track: bool) -> None:
    from distribute.sending import campaigns as ops
    from distribute.db import make_engine, make_sessionmaker
    from distribute.sending.fanout import enqueue_pending, start_campaign
    from distribute.sending.ratelimit import NoRateLimit
    from distribute.releases.store import get_release
    from distribute.sending.sender import Sender
    from distribute.transport import transport_from_settings

    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    try:
        with sessions.begin() as session:
            campaign = ops.create_campaign(session, get_release(session, "1"), targets=["rights"], variant="journalist",
                                           zone=settings.zone, track=track)
            campaign_id = campaign.id
        broker = _Batches()
        start_campaign(sessions, settings, broker, campaign_id)
        sender = Sender(settings, sessions, lambda: transport_from_settings(settings), NoRateLimit())
        while broker.batches:
            sender.send_batch(*broker.batches.pop())
            enqueue_pending(sessions, settings, broker, campaign_id)
        sender.close()
    finally:
        engine.dispose()
