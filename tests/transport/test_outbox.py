"""The file outbox: one .eml per delivery, written atomically, under safe names only."""

from __future__ import annotations

import os

import pytest

from distribute.transport.interface import Envelope, SendResult, TransientSendError
from distribute.transport.outbox import OutboxTransport

SENDER = "bounces@press.example.org"


def test_outbox_writes_one_file_per_ref_in_a_campaign_directory(tmp_path):
    outbox = OutboxTransport(tmp_path / "outbox")
    first = Envelope(sender=SENDER, recipient="a@example.com", ref="refA", campaign_ref="camp-1")
    other = Envelope(sender=SENDER, recipient="b@example.com", ref="refB", campaign_ref="camp-2")
    result = outbox.send(first, b"first version\r\n")
    outbox.send(other, b"other\r\n")
    path = tmp_path / "outbox" / "camp-1" / "refA.eml"
    assert result == SendResult(250, f"2.0.0 written to {path}")
    assert path.read_bytes() == b"first version\r\n"
    assert (tmp_path / "outbox" / "camp-2" / "refB.eml").read_bytes() == b"other\r\n"

    outbox.send(first, b"second version\r\n")  # the same ref again: replaced, not duplicated
    assert sorted(p.name for p in (tmp_path / "outbox" / "camp-1").iterdir()) == ["refA.eml"]
    assert path.read_bytes() == b"second version\r\n"


def test_outbox_crash_mid_write_leaves_nothing_half_written(tmp_path, monkeypatch):
    outbox = OutboxTransport(tmp_path)
    env = Envelope(sender=SENDER, recipient="a@example.com", ref="refA", campaign_ref="c")
    outbox.send(env, b"old\r\n")

    def crash(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(TransientSendError) as caught:
        outbox.send(env, b"new\r\n")
    assert caught.value.stage == "write" and "No space left" in caught.value.reply
    assert [p.name for p in (tmp_path / "c").iterdir()] == ["refA.eml"]  # no temp file left
    assert (tmp_path / "c" / "refA.eml").read_bytes() == b"old\r\n"


@pytest.mark.parametrize(("ref", "campaign"), [("../x", "c"), ("r", "../c"), ("a/b", "c"), ("", "c"), ("r", ".")])
def test_outbox_refuses_unsafe_names(tmp_path, ref, campaign):
    with pytest.raises(ValueError):
        OutboxTransport(tmp_path).send(Envelope(SENDER, "a@example.com", ref, campaign), b"x\r\n")
    assert list(tmp_path.iterdir()) == []
