"""DKIM (RFC 6376): the key, the DNS record that publishes it, and the signer of every message.

Keys are PEM, RSA (rsa-sha256) or Ed25519 (ed25519-sha256, RFC 8463), read once by cryptography.
One signer is made per process and configuration (signer_for), so a worker reads and checks the
key once, not once per campaign or message.

dkimpy does the RFC 6376 work (parsing the header, header canonicalisation, choosing the header
instances to sign, folding the DKIM-Signature header and hashing it with an empty b=), and
cryptography (OpenSSL) computes the signature with the key object read once. dkimpy's own sign()
does RSA in pure Python and parses the PEM again for each message: about 8 ms per message with
RSA 2048, holding the GIL, so a worker process could not sign more than ~120 messages a second
whatever its threads; OpenSSL takes ~0.35 ms. The relaxed body canonicalisation is done here, as
dkimpy does it but four times faster (relaxed_body). The header is built as dkimpy's sign() builds
it, tag for tag, so for the same message, key and time the two give the same bytes (tested).

Canonicalisation is relaxed/relaxed (RFC 6376 §3.4.2, §3.4.4): a relay that refolds a header or
changes runs of spaces does not break the signature. The headers a receiver judges are signed,
and those that must stay single (From, Subject, To, List-Unsubscribe …) are named once more than
they appear (§5.4.2, §8.15): a header added on the way, a second Subject or a Reply-To, then breaks
the signature instead of being shown under it. RFC 8058 requires List-Unsubscribe and
List-Unsubscribe-Post to be signed for one-click unsubscribe to be honoured.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import idna

# cryptography (OpenSSL, ~12 MB of a worker's memory) is imported where a key is read, made or
# used: a worker with no DKIM key configured never loads it.
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    from distribute.config import Settings

# Named once more than they appear (absent: once), so none can be added after signing.
OVERSIGNED = ("from", "reply-to", "subject", "date", "message-id", "to", "list-unsubscribe", "list-unsubscribe-post")
# Signed as they appear.
SIGNED_IF_PRESENT = ("mime-version", "content-type", "list-id")
# Amazon SES replaces Message-ID and Date, so a signature over them would never verify there
# (its manual DKIM signing guide says not to sign them).
UNSIGNED_BY_ESP = {"ses": frozenset({"message-id", "date"})}
MIN_RSA_BITS = 1024  # RFC 8301: signers MUST use at least 1024 bits, SHOULD use 2048
DEFAULT_RSA_BITS = 2048
TXT_STRING_MAX = 255  # one DNS character-string; a longer TXT value is several, joined by readers
# A run of spaces and tabs that relaxed canonicalisation changes: any with a tab, or longer than one.
_WSP_TO_SPACE = re.compile(rb"\t[\t ]*| [\t ]+")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DNS_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


@dataclass(frozen=True)
class DkimKey:
    kind: str  # "rsa" or "ed25519": the k= of the DNS record
    bits: int
    public_key: str  # the p= of the DNS record (base64); two keys with the same p= are the same key
    private_key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey = field(compare=False, repr=False)

    def sign_digest(self, digest: bytes) -> bytes:
        """The b= signature of a SHA-256 digest of the signed header fields."""
        if self.kind == "rsa":
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.asymmetric import padding
            from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

            # RSASSA-PKCS1-v1_5 (RFC 6376 §3.3.1); deterministic, so the same as dkimpy's.
            return self.private_key.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
        # RFC 8463 §3: PureEdDSA over the SHA-256 digest, not over the data itself.
        return self.private_key.sign(digest)

    @property
    def algorithm(self) -> str:
        return f"{self.kind}-sha256"

    def txt_value(self) -> str:
        return f"v=DKIM1; k={self.kind}; p={self.public_key}"


def load_key(pem: str | bytes) -> DkimKey:
    """A private key in PEM (PKCS#8 or PKCS#1), or a ValueError that says what is wrong."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    data = pem.encode() if isinstance(pem, str) else pem
    # A PEM kept in one environment variable often has its line breaks written as \n (an .env
    # file holds one line per variable).
    data = data.replace(b"\\n", b"\n").strip()
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise ValueError("the key is protected by a passphrase: export it without one "
                         "(openssl pkey -in KEY -out PLAIN)") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ValueError("not a PEM private key (expected '-----BEGIN PRIVATE KEY-----' …); "
                         "make one with `distribute dkim keygen`") from None
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise ValueError(f"an RSA key of {key.key_size} bits: receivers ignore DKIM keys under "
                             f"{MIN_RSA_BITS} bits (RFC 8301); make a {DEFAULT_RSA_BITS}-bit one")
        public = key.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
        return DkimKey("rsa", key.key_size, base64.b64encode(public).decode(), key)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return DkimKey("ed25519", 256, base64.b64encode(public).decode(), key)
    kind = type(key).__name__.removesuffix("PrivateKey").removeprefix("_")
    raise ValueError(f"an {kind} key cannot sign DKIM: make an RSA or Ed25519 one")


def load_key_file(path: Path) -> DkimKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    return load_key(data)


def generate_key(*, ed25519_key: bool = False, bits: int = DEFAULT_RSA_BITS) -> bytes:
    """A new private key, PKCS#8 PEM."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    key = ed25519.Ed25519PrivateKey.generate() if ed25519_key else rsa.generate_private_key(65537, bits)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def write_new_key(path: Path, pem: bytes) -> None:
    """Write a key readable by its owner only; never over an existing file (a key in use would be lost)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ValueError(f"{path} already exists: not overwritten (a key in use would be lost); "
                         "choose another --out") from None
    except OSError as exc:
        raise ValueError(f"cannot write {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "wb") as f:
        f.write(pem)


def dns_name(value: str, what: str) -> str:
    """A selector or domain as DNS writes it (lower case, A-labels), or a ValueError."""
    name = value.strip().rstrip(".").lower()
    try:
        name = idna.encode(name, uts46=True).decode() if not name.isascii() else name
    except idna.IDNAError:
        name = ""
    if not _DNS_NAME.fullmatch(name) or len(name) > 253:
        raise ValueError(f"{value!r} is not a {what}: expected letters, digits and hyphens, "
                         "in labels separated by dots")
    return name


def record_name(selector: str, domain: str) -> str:
    return f"{selector}._domainkey.{domain}."


def dns_record(key: DkimKey, selector: str, domain: str) -> str:
    """The TXT record to publish, in zone-file form, its value cut into 255-character strings."""
    value = key.txt_value()
    strings = " ".join(f'"{value[i:i + TXT_STRING_MAX]}"' for i in range(0, len(value), TXT_STRING_MAX))
    return f"{record_name(selector, domain)} IN TXT {strings}"


class DkimSigner:
    """Signs whole messages (bytes, CRLF) with one key, selector and domain.

    Relies on parts of dkimpy that it does not document (rfc822_parse, fold and hash_headers: the
    pieces its own sign() is made of; canonicalization.Simple), hence the version range in
    pyproject.toml; the test that compares this signer's header with dkimpy's sign() byte for byte
    catches a change. `canonicalization` is relaxed/relaxed for mail (see above); the tests also
    sign simple/simple, where a difference in folding would show.
    """

    def __init__(self, key: DkimKey, selector: str, domain: str, *, unsigned: frozenset[str] = frozenset(),
                 canonicalization: bytes = b"relaxed/relaxed", clock: Callable[[], float] = time.time):
        import dkim  # dkimpy loads dnspython's resolver (~60 ms): only processes that sign pay for it
        from dkim.canonicalization import CanonicalizationPolicy

        self.key, self.selector, self.domain = key, selector, domain
        self._oversigned = [name.encode() for name in OVERSIGNED if name not in unsigned]
        self._if_present = [name.encode() for name in SIGNED_IF_PRESENT if name not in unsigned]
        self._policy = CanonicalizationPolicy.from_c_value(canonicalization)
        self._body = relaxed_body if self._policy.body_algorithm.name == b"relaxed" else self._policy.canonicalize_body
        self._clock = clock
        self._dkim = dkim
        # The tags in the order, and with the values, that dkimpy's DKIM.sign() writes them
        # (i= and q= are its defaults), so that the header is the one it would make.
        self._leading = [(b"v", b"1"), (b"a", key.algorithm.encode()), (b"c", self._policy.to_c_value()),
                         (b"d", domain.encode()), (b"i", b"@" + domain.encode()), (b"q", b"dns/txt"),
                         (b"s", selector.encode())]

    def header_names(self, headers: list[list[bytes]]) -> list[bytes]:
        """The h= list for a message with these (name, value) headers."""
        count = Counter(name.lower() for name, _ in headers)
        names = [name for name in self._oversigned for _ in range(count[name] + 1)]
        return names + [name for name in self._if_present for _ in range(count[name])]

    def sign(self, message: bytes) -> bytes:
        """The message with its DKIM-Signature header first."""
        headers, body = self._parse(message)
        names = self.header_names(headers)
        body_hash = hashlib.sha256(self._body(body)).digest()
        tags = [*self._leading, (b"t", str(int(self._clock())).encode()), (b"h", b" : ".join(names)),
                (b"bh", base64.b64encode(body_hash))]
        # The header is hashed with b= empty (RFC 6376 §3.7) but folded as if it held a long value,
        # so that b= starts its own line and the lines before it are the same once it is filled
        # in: dkimpy's way, which keeps even a "simple" header canonicalisation intact.
        unsigned = self._fold(tags + [(b"b", b"0" * 60)])
        digest = hashlib.sha256()
        self._dkim.hash_headers(digest, self._policy, self._policy.canonicalize_headers(headers), names,
                                (b"DKIM-Signature", b" " + unsigned), None)  # it empties b= itself
        signature = base64.b64encode(self.key.sign_digest(digest.digest()))
        return b"DKIM-Signature: " + self._fold(tags + [(b"b", signature)], b"\r\n") + message

    def _fold(self, tags: list[tuple[bytes, bytes]], end: bytes = b"") -> bytes:
        return self._dkim.fold(b"; ".join(b"=".join(tag) for tag in tags) + end, namelen=len(b"DKIM-Signature"))

    def _parse(self, message: bytes) -> tuple[list, bytes]:
        """(headers, body) as dkimpy's parser gives them. It splits the whole message into lines
        and joins the body again (0.2 ms for a press release): a message all in CRLF, as the
        builder makes it, is cut at its first empty line and only the header is parsed."""
        end = message.find(b"\r\n\r\n")
        if end < 0 or message.startswith(b"\r\n") or message.count(b"\n") != message.count(b"\r\n"):
            return self._dkim.rfc822_parse(message)
        headers, _ = self._dkim.rfc822_parse(message[:end + 4])
        return headers, message[end + 4:]


def relaxed_body(body: bytes) -> bytes:
    """The relaxed body canonicalisation (RFC 6376 §3.4.4), as dkimpy's, in a quarter of its time.

    dkimpy's regular expression stops at every single space of the body (a thousand in a press
    release), then scans it again for spaces before line ends: half a millisecond, more than the
    RSA signature. Here only the runs that change are replaced; then every run is one space, and
    trailing whitespace is that space before a CRLF."""
    from dkim.canonicalization import Simple

    body = _WSP_TO_SPACE.sub(b" ", body).replace(b" \r\n", b"\r\n")
    # Empty lines at the end are dropped as in simple (§3.4.3), but an empty body stays empty.
    body = Simple.canonicalize_body(body)
    return b"" if body == b"\r\n" else body


def signing_domain(settings: Settings) -> str:
    return settings.dkim_domain or dns_name(settings.sender_domain, "domain")


def signer_for(settings: Settings) -> DkimSigner | None:
    """The process's signer for these settings; None when DKIM is not configured."""
    if not settings.dkim_selector or not (settings.dkim_private_key or settings.dkim_private_key_file):
        return None
    return _signer(settings.dkim_selector, signing_domain(settings), settings.dkim_private_key,
                   settings.dkim_private_key_file, settings.esp)


@lru_cache(maxsize=8)
def _signer(selector: str, domain: str, pem: str | None, path: Path | None, esp: str) -> DkimSigner:
    key = load_key(pem) if pem else load_key_file(path)
    return DkimSigner(key, selector, domain, unsigned=UNSIGNED_BY_ESP.get(esp, frozenset()))


def settings_problem(settings: Settings) -> str | None:
    """What makes the DKIM settings unusable together (each one alone is checked as it is read)."""
    file, text = "DISTRIBUTE_DKIM_PRIVATE_KEY_FILE", "DISTRIBUTE_DKIM_PRIVATE_KEY"
    if settings.dkim_private_key and settings.dkim_private_key_file:
        return f"both {file} and {text} are set: keep one"
    has_key = bool(settings.dkim_private_key or settings.dkim_private_key_file)
    if has_key and not settings.dkim_selector:
        return (f"{file if settings.dkim_private_key_file else text} is set but not DISTRIBUTE_DKIM_SELECTOR: "
                "set it to the selector the key is published under")
    if settings.dkim_selector and not has_key:
        return f"DISTRIBUTE_DKIM_SELECTOR is set but neither {file} nor {text}: set one to the key published under it"
    if settings.dkim_selector and not settings.dkim_domain:
        try:
            dns_name(settings.sender_domain, "domain")
        except ValueError:
            return (f"DISTRIBUTE_SENDER's domain {settings.sender_domain!r} is not a domain DKIM can sign for: "
                    "set DISTRIBUTE_DKIM_DOMAIN")
    return None
