"""DKIM: every message signed when a key is configured, verified here by dkimpy against the
record `distribute dkim keygen` prints (a DNS look-up function that answers with it: no network)."""

import email
import os
import re
import subprocess
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

import dkim as dkimpy
import pytest

from conftest import REPO
from distribute import dkim
from distribute.config import ConfigError, Settings, load_settings
from distribute.message import MessageBuilder, Recipient
from distribute.rendering import compile_release
from distribute.releases import read_release
from distribute.models import Release

SELECTOR = "press2026"
ONE_CLICK = {b"list-unsubscribe", b"list-unsubscribe-post"}


@pytest.fixture(scope="module", params=["rsa", "ed25519"])
def pem(request) -> str:
    return dkim.generate_key(ed25519_key=request.param == "ed25519").decode()


def dns_for(records: dict[str, str]):
    """dkimpy's TXT look-up, answered from these records (name -> value) instead of the network."""
    def lookup(name: bytes, timeout: float = 5):
        value = records.get(name.decode())
        return value.encode() if value is not None else None
    return lookup


def published(pem: str, domain: str = "example.org") -> dict[str, str]:
    return {dkim.record_name(SELECTOR, domain): dkim.load_key(pem).txt_value()}


def verifies(message: bytes, records: dict[str, str]) -> bool:
    return dkimpy.verify(message, dnsfunc=dns_for(records))


def signed_headers(message: bytes) -> list[bytes]:
    verifier = dkimpy.DKIM(message)
    verifier.verify_headerprep()
    return list(verifier.include_headers)


def builder(settings: Settings) -> MessageBuilder:
    draft = read_release(REPO / "samples" / "release.md", zone=ZoneInfo("UTC"))
    return MessageBuilder(compile_release(Release(id=1, slug="s", **vars(draft)), "journalist", settings), settings)


def dkim_settings(pem: str, **more) -> Settings:
    return Settings(secret_key="k", base_url="https://press.example.org", dkim_selector=SELECTOR, dkim_private_key=pem,
                    **more)


def replace_header(message: bytes, name: bytes, value: bytes) -> bytes:
    """The message with one header's value (and its folded lines) replaced."""
    changed, n = re.subn(rb"(?m)^" + name + rb":.*\r\n(?:[ \t].*\r\n)*", name + b": " + value + b"\r\n", message, count=1)
    assert n == 1
    return changed


def test_a_built_message_is_signed_and_verifies(pem):
    message = builder(dkim_settings(pem)).build(Recipient("amira@levant.example", "Amira Haddad"), "ref1")
    assert message.startswith(b"DKIM-Signature: ")
    assert verifies(message, published(pem))
    names = signed_headers(message)
    for name in (b"from", b"subject", b"date", b"message-id", b"to", b"mime-version", b"content-type", b"reply-to",
                 *ONE_CLICK):
        assert name in names
    # The signature is over the message as built: parsing it shows the same headers as unsigned.
    msg = email.message_from_bytes(message, policy=policy.default)
    assert msg["To"] == "Amira Haddad <amira@levant.example>" and msg["DKIM-Signature"]
    assert f"a={dkim.load_key(pem).algorithm}; c=relaxed/relaxed; d=example.org" in " ".join(msg["DKIM-Signature"].split())


@pytest.mark.parametrize("name, value", [
    (b"Subject", b"Urgent: wire the money"),
    (b"To", b"someone@else.example"),
    (b"List-Unsubscribe", b"<https://evil.example/unsubscribe>"),
    (b"List-Unsubscribe-Post", b"List-Unsubscribe=Nope"),
    (b"From", b"Press Office <press@example.org.evil.example>"),
])
def test_a_changed_header_breaks_the_signature(pem, name, value):
    message = builder(dkim_settings(pem)).build(Recipient("amira@levant.example", "Amira Haddad"), "ref1")
    assert verifies(message, published(pem))
    assert not verifies(replace_header(message, name, value), published(pem))


def test_added_headers_break_it_and_relays_reformatting_does_not(pem):
    message = builder(dkim_settings(pem)).build(Recipient("amira@levant.example", "Amira Haddad"), "ref1")
    head, _, body = message.partition(b"\r\n\r\n")
    # A second Subject or a Reply-To added on the way is signed against (named once more than it appears).
    assert not verifies(head + b"\r\nSubject: Second subject\r\n\r\n" + body, published(pem))
    assert not verifies(replace_header(message, b"Reply-To", b"attacker@evil.example"), published(pem))
    # A trace header added by a relay is fine, and so is refolding (relaxed canonicalisation) …
    assert verifies(b"Received: from relay.example by mx.example\r\n" + message, published(pem))
    refolded = message.replace(b"\r\nSubject: ", b"\r\nSubject:\r\n\t  ", 1)
    assert refolded != message and verifies(refolded, published(pem))
    # … but not a changed body.
    assert not verifies(message.replace(b"Sahel", b"Sahara", 1), published(pem))


def test_without_a_key_nothing_is_signed():
    message = builder(Settings(secret_key="k")).build(Recipient("a@example.net"), "ref1")
    assert b"DKIM-Signature" not in message and dkim.signer_for(Settings(secret_key="k")) is None


def test_the_key_is_read_once_per_process(pem, tmp_path):
    settings = dkim_settings(pem)
    assert dkim.signer_for(settings) is dkim.signer_for(dkim_settings(pem))
    path = tmp_path / "key.pem"
    path.write_text(pem)
    from_file = Settings(secret_key="k", dkim_selector=SELECTOR, dkim_private_key_file=path)
    assert dkim.signer_for(from_file) is dkim.signer_for(from_file)
    assert dkim.signer_for(from_file).key == dkim.signer_for(settings).key


def test_the_domain_is_the_senders_unless_set(pem):
    sender = dkim_settings(pem, sender="Press <press@News.Example.COM>")
    assert dkim.signer_for(sender).domain == "news.example.com"
    message = builder(sender).build(Recipient("a@example.net"), "r")
    assert verifies(message, published(pem, "news.example.com"))
    other = dkim_settings(pem, dkim_domain="Example.COM.")
    assert dkim.signer_for(other).domain == "example.com"
    assert verifies(builder(other).build(Recipient("a@example.net"), "r"), published(pem, "example.com"))


def test_with_ses_message_id_and_date_are_left_unsigned(pem):
    message = builder(dkim_settings(pem, esp="ses")).build(Recipient("a@example.net"), "r")
    names = signed_headers(message)
    assert b"message-id" not in names and b"date" not in names and ONE_CLICK <= set(names)
    # SES replaces both: the signature still verifies after it has.
    message = replace_header(replace_header(message, b"Message-ID", b"<0100abc@email.amazonses.com>"),
                             b"Date", b"Mon, 7 Dec 2026 10:00:00 +0000")
    assert verifies(message, published(pem))


# Settings: each bad value refused in one line naming its variable, the key never shown.

def refusal(monkeypatch, **env) -> str:
    for name in list(os.environ):
        if name.startswith("DISTRIBUTE_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(f"DISTRIBUTE_{name.upper()}", str(value))
    with pytest.raises(ConfigError) as caught:
        load_settings()
    return str(caught.value)


def openssl(tmp_path: Path, name: str, *args: str) -> Path:
    path = tmp_path / name
    subprocess.run(["openssl", *args, "-out", str(path)], check=True, capture_output=True)
    return path


def test_settings_refuse_a_key_that_does_not_load(monkeypatch, tmp_path):
    secret = "-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----"
    message = refusal(monkeypatch, dkim_selector="s", dkim_private_key=secret)
    assert message.startswith("DISTRIBUTE_DKIM_PRIVATE_KEY: not a PEM private key") and "not base64" not in message
    message = refusal(monkeypatch, dkim_selector="s", dkim_private_key_file=tmp_path / "missing.pem")
    assert message.startswith("DISTRIBUTE_DKIM_PRIVATE_KEY_FILE: cannot read") and "No such file" in message
    ec = openssl(tmp_path, "ec.pem", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256")
    assert refusal(monkeypatch, dkim_selector="s", dkim_private_key_file=ec) == \
        "DISTRIBUTE_DKIM_PRIVATE_KEY_FILE: an EC key cannot sign DKIM: make an RSA or Ed25519 one"
    short = openssl(tmp_path, "short.pem", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:768")
    assert "768 bits" in refusal(monkeypatch, dkim_selector="s", dkim_private_key_file=short)
    locked = openssl(tmp_path, "locked.pem", "genpkey", "-algorithm", "ED25519", "-aes256", "-pass", "pass:x")
    assert "passphrase" in refusal(monkeypatch, dkim_selector="s", dkim_private_key_file=locked)
    assert refusal(monkeypatch, dkim_selector="a;b", dkim_private_key_file=ec).startswith(
        "DISTRIBUTE_DKIM_SELECTOR='a;b': 'a;b' is not a selector")
    assert "DISTRIBUTE_DKIM_DOMAIN" in refusal(monkeypatch, dkim_domain="example..org")


def test_settings_refuse_half_a_configuration(monkeypatch, tmp_path, pem):
    path = tmp_path / "key.pem"
    path.write_text(pem)
    assert "DISTRIBUTE_DKIM_SELECTOR is set but neither" in refusal(monkeypatch, dkim_selector="s")
    assert refusal(monkeypatch, dkim_private_key_file=path).startswith(
        "DISTRIBUTE_DKIM_PRIVATE_KEY_FILE is set but not DISTRIBUTE_DKIM_SELECTOR")
    assert refusal(monkeypatch, dkim_selector="s", dkim_private_key_file=path, dkim_private_key=pem).startswith(
        "both DISTRIBUTE_DKIM_PRIVATE_KEY_FILE and DISTRIBUTE_DKIM_PRIVATE_KEY are set")


def test_a_key_in_one_line_with_escaped_line_breaks_loads(monkeypatch, pem):
    monkeypatch.setenv("DISTRIBUTE_DKIM_SELECTOR", SELECTOR)
    monkeypatch.setenv("DISTRIBUTE_DKIM_PRIVATE_KEY", pem.strip().replace("\n", "\\n"))
    settings = load_settings()
    assert dkim.signer_for(settings).key == dkim.load_key(pem)


# End to end: the demo, through the embedded worker into the file outbox.

def test_the_demo_sends_messages_that_verify(run_cli, tmp_path, monkeypatch, pem):
    key = tmp_path / "dkim.pem"
    key.write_text(pem)
    monkeypatch.setenv("DISTRIBUTE_DKIM_SELECTOR", SELECTOR)
    monkeypatch.setenv("DISTRIBUTE_DKIM_PRIVATE_KEY_FILE", str(key))
    result = run_cli("demo")
    assert result.exit_code == 0, result.output
    sent = sorted((tmp_path / "outbox").rglob("*.eml")) + sorted((tmp_path / "preview").glob("*.eml"))
    assert len(sent) == 14
    for path in sent:
        message = path.read_bytes()
        assert verifies(message, published(pem)), path.name
        assert ONE_CLICK <= set(signed_headers(message))
