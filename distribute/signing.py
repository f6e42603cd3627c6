"""Signed link tokens. A token names a delivery by its random reference and carries an HMAC,
so nobody can unsubscribe someone else or forge a link; it reveals no address."""

from __future__ import annotations

import hashlib
import hmac

from itsdangerous import Signer


class LinkSigner:
    def __init__(self, secret: str, purpose: str):
        # One signer per purpose: a click token can never be replayed as an unsubscribe token.
        self._signer = Signer(secret, salt=f"distribute.{purpose}", digest_method=hashlib.sha256)

    def sign(self, ref: str) -> str:
        return self._signer.sign(ref).decode("ascii")

    def unsign(self, token: str) -> str | None:
        """The value of a token this signer made, or None. Only the one spelling sign() writes
        is accepted: unpadded base64 of a 32-byte MAC has two unused bits, which a base64
        decoder ignores, so four spellings of every signature would otherwise pass."""
        value, dot, _ = token.rpartition(".")
        if not dot or not token.isascii():
            return None
        if not hmac.compare_digest(self._signer.sign(value), token.encode("ascii")):
            return None
        return value
