"""What a message carries so that what comes back names its delivery: signed link tokens, the
VERP return path, and the header with the delivery's reference.

A token names a delivery by its random reference and carries an HMAC, so nobody can unsubscribe
someone else or forge a link; it reveals no address."""

from __future__ import annotations

import base64
import hashlib
import hmac

from itsdangerous import Signer

# The delivery's public reference, in every message we send: a bounce that quotes our headers, or
# an ESP that reports them, names its delivery by it.
DELIVERY_HEADER = "X-Distribute-Delivery"


class LinkSigner:
    def __init__(self, secret: str, purpose: str):
        # One signer per purpose: a click token can never be replayed as an unsubscribe token.
        signer = Signer(secret, salt=f"distribute.{purpose}", digest_method=hashlib.sha256)
        # itsdangerous' Signer derives its key again for every token; a worker signs five per
        # message and the web app checks one per request, so the key is derived once and the
        # same token is made with it (HMAC-SHA256, unpadded URL-safe base64, after a ".").
        self._key = signer.derive_key()

    def sign(self, ref: str) -> str:
        mac = hmac.new(self._key, ref.encode("utf-8"), hashlib.sha256).digest()
        return f"{ref}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode('ascii')}"

    def unsign(self, token: str) -> str | None:
        """The value of a token this signer made, or None. Only the one spelling sign() writes
        is accepted: unpadded base64 of a 32-byte MAC has two unused bits, which a base64
        decoder ignores, so four spellings of every signature would otherwise pass."""
        value, dot, _ = token.rpartition(".")
        if not dot or not token.isascii():
            return None
        if not hmac.compare_digest(self.sign(value), token):
            return None
        return value


class Tokens:
    """The signed tokens of every public link. One key per purpose, so that a token made for
    one endpoint is refused by every other."""

    def __init__(self, secret: str):
        self.open = LinkSigner(secret, "open")
        self.click = LinkSigner(secret, "click")
        self.unsubscribe = LinkSigner(secret, "unsubscribe")
        self._bounce_key = hashlib.sha256(f"distribute.bounce:{secret}".encode()).digest()

    def click_token(self, ref: str, campaign_ref: str, n: int) -> str:
        return self.click.sign(f"{ref}.{campaign_ref}.{n}")

    def verp(self, ref: str) -> str | None:
        """The token of a VERP return path ("bounces+TOKEN@…"): the ref and a truncated HMAC, in
        lowercase base32. A local part must fit 64 octets (RFC 5321 4.5.3.1.1), and MTAs may
        change its case, so the token is short and case-free. None for a ref that is not ours."""
        try:
            raw = base64.urlsafe_b64decode(ref + "=" * (-len(ref) % 4))
        except (ValueError, TypeError):
            return None
        if base64.urlsafe_b64encode(raw).decode().rstrip("=") != ref:
            return None
        return f"{_b32(raw)}-{_b32(self._verp_mac(raw))}"

    def read_verp(self, token: str) -> str | None:
        token = token.lower()  # the one liberty taken: MTAs may change a local part's case
        try:
            raw = _unb32(token.partition("-")[0])
        except (ValueError, TypeError):
            return None
        # Compared as the text verp() writes, not as decoded bytes: base32 of a reference ends
        # in unused bits, and a token that differs only there must not pass.
        if not hmac.compare_digest(f"{_b32(raw)}-{_b32(self._verp_mac(raw))}", token):
            return None
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _verp_mac(self, raw: bytes) -> bytes:
        return hmac.new(self._bounce_key, raw, hashlib.sha256).digest()[:10]  # 80 bits

    def read_click(self, token: str) -> tuple[str, str, int] | None:
        value = self.click.unsign(token)
        if value is None:
            return None
        ref, campaign_ref, n = value.split(".")
        return ref, campaign_ref, int(n)


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=").lower()


def _unb32(text: str) -> bytes:
    return base64.b32decode(text.upper() + "=" * (-len(text) % 8))
