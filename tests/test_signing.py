"""Signed tokens: accepted only as we spell them, and one key per purpose."""

from __future__ import annotations

import base64

from distribute.signing import Tokens


def test_a_token_is_accepted_only_as_we_spell_it():
    from web_helpers import BASE32, respell, tamper

    tokens = Tokens("k")
    for signer in (tokens.open, tokens.click, tokens.unsubscribe):
        token = signer.sign("ref_1.camp.0")
        value, signature = token.rsplit(".", 1)
        other = respell(signature)
        assert other != signature and base64.urlsafe_b64decode(other + "=") == base64.urlsafe_b64decode(signature + "=")
        assert signer.unsign(token) == "ref_1.camp.0"
        assert signer.unsign(f"{value}.{other}") is None and signer.unsign(f"{value}.{tamper(signature)}") is None
        assert signer.unsign(value) is None and signer.unsign(f"{token}é") is None
    ref = "vRXNZd0WZSHB6CEl"
    body, mac = tokens.verp(ref).split("-")
    other = respell(body, BASE32)
    assert base64.b32decode(other.upper() + "====") == base64.b32decode(body.upper() + "====")
    assert tokens.read_verp(f"{body}-{mac}".upper()) == ref
    assert tokens.read_verp(f"{other}-{mac}") is None and tokens.read_verp(f"{body}-{tamper(mac, BASE32)}") is None


def test_click_tokens_are_per_purpose():
    tokens = Tokens("k")
    token = tokens.click_token("ref", "camp", 3)
    assert tokens.read_click(token) == ("ref", "camp", 3)
    assert tokens.open.unsign(token) is None and tokens.unsubscribe.unsign(token) is None
    assert Tokens("other").read_click(token) is None
