"""DISTRIBUTE_SMTP_URL: what it may say, and errors that name it and never show the password."""

from __future__ import annotations

import pytest

from distribute.errors import UserError
from distribute.transport.smtp import SMTPTransport
from distribute.transport.smtp_url import parse_smtp_url


def test_url_parsing():
    cfg = parse_smtp_url("smtp://us%40er:p%3Ass%2Fw@Relay.Example.org:587?starttls=true&timeout=12.5")
    assert (cfg.scheme, cfg.host, cfg.port) == ("smtp", "relay.example.org", 587)
    assert (cfg.username, cfg.password) == ("us@er", "p:ss/w")
    assert (cfg.starttls, cfg.verify, cfg.timeout) == (True, True, 12.5)
    assert "p:ss" not in cfg.redacted and "***" in cfg.redacted
    assert parse_smtp_url("smtps://mail.example.org").port == 465
    plain = parse_smtp_url("smtp://mail.example.org", timeout=7)
    assert (plain.port, plain.starttls, plain.username, plain.timeout) == (25, False, None, 7)
    assert parse_smtp_url("smtp://h?verify=false&starttls=yes").verify is False
    assert "secret" not in repr(SMTPTransport("smtp://u:secret@h:25"))


@pytest.mark.parametrize(("url", "words"), [
    ("http://relay.example.org", "unknown scheme http://"),
    ("relay.example.org:25", "unknown scheme"),
    ("smtp://", "no host"),
    ("smtp://:25", "no host"),
    ("smtp://relay.example.org:abc", "bad port 'abc'"),
    ("smtp://relay.example.org:99999", "bad port '99999'"),
    ("smtp://relay.example.org?starttls=maybe", "starttls='maybe'"),
    ("smtp://relay.example.org?verify=2", "verify='2'"),
    ("smtp://relay.example.org?timeout=soon", "timeout='soon'"),
    ("smtp://relay.example.org?timeout=-1", "timeout='-1'"),
    ("smtp://relay.example.org?startls=true", "unknown parameter 'startls'"),
    ("smtps://relay.example.org?starttls=true", "already TLS"),
    ("smtp://:secret@relay.example.org", "password without a user"),
    ("smtp://relay.example.org/path", "unexpected path"),
])
def test_bad_urls(url, words):
    with pytest.raises(UserError) as caught:
        SMTPTransport(url)
    text = str(caught.value)
    assert text.startswith("DISTRIBUTE_SMTP_URL: ")
    assert words in text
    assert "secret" not in text
