"""DKIM: every message signed when a key is configured, verified here by dkimpy against the
record `distribute dkim keygen` prints (a DNS look-up function that answers with it: no network)."""

import base64
import email
import json
import os
import random
import re
import stat
import subprocess
import sys
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

import dkim as dkimpy
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from dkim.canonicalization import Relaxed

from conftest import REPO
from distribute.transport import dkim
from distribute.config import ConfigError, Settings, load_settings
from distribute.sending.message import MessageBuilder, Recipient
from distribute.releases.rendering import compile_release
from distribute.releases.reader import read_release
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


# The signature is dkimpy's own, computed by OpenSSL.

def dkimpy_key(pem: str) -> bytes:
    """The key as dkimpy's sign() reads it: PKCS#1 PEM for RSA, the base64 seed for Ed25519."""
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())
        return base64.b64encode(seed)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def dkimpy_header(message: bytes, key: bytes, algorithm: bytes, names: list[bytes], canonicalization: bytes) -> bytes:
    """The DKIM-Signature header dkimpy's sign() makes for this message, with a key from dkimpy_key."""
    return dkimpy.DKIM(message, signature_algorithm=algorithm).sign(
        SELECTOR.encode(), b"example.org", key, canonicalize=tuple(canonicalization.split(b"/")), include_headers=names)


def unsigned_message() -> bytes:
    return builder(Settings(secret_key="k", base_url="https://press.example.org")).build(
        Recipient("amira@levant.example", "Amira Haddad"), "ref1")


# Runs of spaces and tabs, inside lines and at their ends, a folded header, a Subject twice,
# empty lines at the end: everything canonicalisation changes.
AWKWARD = (b"From: Press <press@example.org>\r\nTo:  a@example.net ,\r\n\t b@example.net\r\n"
           b"Subject: one\r\nSubject:\t two  \r\nX-Long: " + b"word " * 40 + b"\r\n\r\n"
           b"A  line\twith \t runs \r\n\tindented\t\r\n \r\nend\r\n\r\n\r\n")


@pytest.mark.parametrize("canonicalization", [b"relaxed/relaxed", b"simple/simple"])
@pytest.mark.parametrize("kind", ["built", "awkward", "bare LF"])
def test_the_header_is_the_one_dkimpy_makes_byte_for_byte(pem, canonicalization, kind):
    message = {"built": unsigned_message(), "awkward": AWKWARD, "bare LF": AWKWARD.replace(b"\r\n", b"\n")}[kind]
    key = dkim.load_key(pem)
    names = dkim.DkimSigner(key, SELECTOR, "example.org").header_names(dkimpy.rfc822_parse(message)[0])
    theirs = dkimpy_header(message, dkimpy_key(pem), key.algorithm.encode(), names, canonicalization)
    t = int(dkimpy.util.parse_tag_value(theirs.split(b":", 1)[1])[b"t"])
    signer = dkim.DkimSigner(key, SELECTOR, "example.org", canonicalization=canonicalization, clock=lambda: t + 0.9)
    ours = signer.sign(message).removesuffix(message)
    assert ours == theirs  # b= included: RSASSA-PKCS1-v1_5 and Ed25519 are deterministic
    assert verifies(ours + message, published(pem))
    assert not verifies(ours + message.replace(b"end", b"End", 1), published(pem))


def test_the_relaxed_body_is_dkimpys():
    rng = random.Random(6376)
    pieces = [b"a", b"b", b" ", b"  ", b"\t", b"\r", b"\n", b"\r\n", b"\r\n\r\n"]
    bodies = [b"", b"\r\n", b"\r\n\r\n", b" ", b"a", b"a  ", b" \t\r\n", b"a\r\r\n", b"a \t \r\n\r\n"]
    bodies += [b"".join(rng.choices(pieces, k=rng.randrange(1, 30))) for _ in range(3000)]
    for body in bodies:
        assert dkim.relaxed_body(body) == Relaxed.canonicalize_body(body), body


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
    assert "set DISTRIBUTE_DKIM_DOMAIN" in refusal(monkeypatch, dkim_selector="s", dkim_private_key_file=path,
                                                   sender="press@example_org")


def test_a_key_in_one_line_with_escaped_line_breaks_loads(monkeypatch, pem):
    monkeypatch.setenv("DISTRIBUTE_DKIM_SELECTOR", SELECTOR)
    monkeypatch.setenv("DISTRIBUTE_DKIM_PRIVATE_KEY", pem.strip().replace("\n", "\\n"))
    settings = load_settings()
    assert dkim.signer_for(settings).key == dkim.load_key(pem)


# The commands.

@pytest.fixture
def cli(tmp_path, monkeypatch):
    from distribute.cli import cli as command

    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("DISTRIBUTE_"):
            monkeypatch.delenv(name)

    def run(*args: str, **env: str):
        env = {f"DISTRIBUTE_{k.upper()}": str(v) for k, v in env.items()}
        return CliRunner().invoke(command, [str(a) for a in args], env=env, catch_exceptions=False)
    return run


def txt_of(record_line: str) -> tuple[str, str]:
    """A zone-file TXT line -> (name, value): its character-strings joined, as resolvers do."""
    name, strings = record_line.split(" IN TXT ", 1)
    parts = re.findall(r'"([^"]*)"', strings)
    assert all(len(p) <= 255 for p in parts)
    return name, "".join(parts)


@pytest.mark.parametrize("kind", ["rsa", "ed25519"])
def test_keygen_writes_the_key_and_prints_the_record_that_verifies(cli, tmp_path, kind):
    args = ["dkim", "keygen", "--selector", SELECTOR] + (["--ed25519"] if kind == "ed25519" else [])
    result = cli(*args, sender="Press <press@example.org>")
    assert result.exit_code == 0, result.output
    path = tmp_path / f"dkim-{SELECTOR}.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and f"written to {path.name}" in result.output
    [line] = [line for line in result.output.splitlines() if " IN TXT " in line]
    name, value = txt_of(line)
    assert name == f"{SELECTOR}._domainkey.example.org." and value.startswith(f"v=DKIM1; k={kind}; p=")
    if kind == "rsa":
        assert line.count('" "') == 1  # 2048 bits: two strings, the first of 255 characters
    settings = Settings(secret_key="k", dkim_selector=SELECTOR, dkim_private_key_file=path)
    assert verifies(builder(settings).build(Recipient("a@example.net"), "r"), {name: value})
    # Never over a key that exists: it may be the one in use.
    before = path.read_bytes()
    again = cli(*args)
    assert again.exit_code == 1 and "already exists: not overwritten" in again.output
    assert path.read_bytes() == before


def test_keygen_takes_a_domain_and_a_path(cli, tmp_path):
    result = cli("dkim", "keygen", "--selector", "s1", "--domain", "News.Example.NET", "--out", "keys/k.pem", "--json")
    assert result.exit_code == 1 and "cannot write keys/k.pem: No such file or directory" in result.output
    (tmp_path / "keys").mkdir()
    out = json.loads(cli("dkim", "keygen", "--selector", "s1", "--domain", "News.Example.NET", "--out", "keys/k.pem",
                         "--json").output)
    assert out["record_name"] == "s1._domainkey.news.example.net." and out["kind"] == "rsa" and out["bits"] == 2048
    assert dkim.load_key((tmp_path / "keys" / "k.pem").read_bytes()).txt_value() == out["txt"]
    bad = cli("dkim", "keygen", "--selector", "s 1")
    assert bad.exit_code == 1 and "'s 1' is not a selector" in bad.output


def test_check_says_what_the_domain_lacks(cli, tmp_path):
    bare = cli("dkim", "check", "--json")
    assert bare.exit_code == 1
    report = json.loads(bare.output)
    codes = {f["code"]: f["severity"] for f in report["findings"]}
    assert codes["dkim-none"] == "error" and codes["unsubscribe-http"] == "error" and codes["spf-alignment"] == "ok"
    assert any(r.startswith("_dmarc.example.org. IN TXT") for r in report["records"])

    key = tmp_path / "k.pem"
    key.write_bytes(dkim.generate_key(ed25519_key=True))
    env = dict(dkim_selector=SELECTOR, dkim_private_key_file=key, base_url="https://press.example.org",
               bounce_address="bounces@mail.example.org")
    good = cli("dkim", "check", **env)
    assert good.exit_code == 0, good.output
    assert "a sample message verifies, List-Unsubscribe and List-Unsubscribe-Post signed" in good.output
    assert "Ed25519" in good.output  # a warning: not every receiver verifies it
    dkim_line = next(line for line in good.output.splitlines() if "._domainkey." in line)
    assert txt_of(dkim_line) == (f"{SELECTOR}._domainkey.example.org.", dkim.load_key_file(key).txt_value())
    assert 'mail.example.org. IN TXT "v=spf1 mx ~all"' in good.output

    other = json.loads(cli("dkim", "check", "--json", **env | {"dkim_domain": "example.net",
                                                                "bounce_address": "b@example.com", "esp": "sendgrid"}).output)
    codes = {f["code"]: f["severity"] for f in other["findings"]}
    assert other["ok"] is False and codes["dkim-alignment"] == "error" and codes["spf-alignment"] == "error"
    # With DKIM aligned, DMARC passes through it: a bounce domain out of line is only a warning.
    spf_only = json.loads(cli("dkim", "check", "--json", **env | {"bounce_address": "b@example.com"}).output)
    assert {f["code"]: f["severity"] for f in spf_only["findings"]}["spf-alignment"] == "warning" and spf_only["ok"]
    assert 'example.com. IN TXT "v=spf1 include:sendgrid.net ~all"' in other["records"]
    ses = json.loads(cli("dkim", "check", "--json", **env | {"esp": "ses", "base_url": "https://localhost"}).output)
    messages = {f["code"]: f["message"] for f in ses["findings"]}
    assert messages["dkim-esp"].endswith("date, message-id") and "localhost" in messages["unsubscribe-local"]


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


def test_a_worker_with_no_key_never_loads_cryptography():
    """cryptography is a tenth of a worker's memory: only a process that signs imports it."""
    code = (
        "import sys\n"
        "from distribute.config import Settings\n"
        "from distribute.sending import sender, sweeper, tasks\n"
        "from distribute.transport import smtp\n"
        "from distribute.sending.message import MessageBuilder, Recipient\n"
        "from release_helpers import SETTINGS, compiled\n"
        "MessageBuilder(compiled('<p>Hello DXfeed42__GREETING__DX</p>', 'Hello'), SETTINGS).build(Recipient('a@b.example'), 'r1')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'cryptography'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=REPO, env=os.environ | {"PYTHONPATH": str(REPO / "tests")})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"

