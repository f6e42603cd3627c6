"""Signed link tokens. A token names a delivery by its random reference and carries an HMAC,
so nobody can unsubscribe someone else or forge a link; it reveals no address."""

from __future__ import annotations

import hashlib

from itsdangerous import BadSignature, Signer


class LinkSigner:
    def __init__(self, secret: str, purpose: str):
        # One signer per purpose: a click token can never be replayed as an unsubscribe token.
        self._signer = Signer(secret, salt=f"distribute.{purpose}", digest_method=hashlib.sha256)

    def sign(self, ref: str) -> str:
        return self._signer.sign(ref).decode("ascii")

    def unsign(self, token: str) -> str | None:
        try:
            return self._signer.unsign(token).decode("ascii")
        except BadSignature:
            return None
