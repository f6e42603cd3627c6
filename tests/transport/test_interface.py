"""The transport interface: both transports meet it, settings choose one, and its errors survive
the trip through Celery (pickling)."""

from __future__ import annotations

import pickle

from distribute.config import Settings
from distribute.transport import transport_from_settings
from distribute.transport.interface import AuthenticationError, PermanentSendError, TransientSendError, Transport
from distribute.transport.outbox import OutboxTransport
from distribute.transport.smtp import SMTPTransport


def test_both_transports_meet_the_interface(tmp_path):
    assert isinstance(SMTPTransport("smtp://127.0.0.1:2525"), Transport)
    assert isinstance(OutboxTransport(tmp_path), Transport)


def test_transport_from_settings(tmp_path):
    outbox = transport_from_settings(Settings(smtp_url=None, outbox_dir=tmp_path / "out"))
    assert isinstance(outbox, OutboxTransport) and outbox.directory == tmp_path / "out"
    smtp = transport_from_settings(Settings(smtp_url="smtp://relay.example.org:2525?starttls=true"))
    assert isinstance(smtp, SMTPTransport)
    assert (smtp.config.host, smtp.config.port, smtp.config.starttls) == ("relay.example.org", 2525, True)


def test_errors_survive_pickling():
    for error in (PermanentSendError("5.1.1 user unknown", code=550, stage="rcpt"),
                  TransientSendError("connection lost", stage="data"),
                  AuthenticationError("535 no", stage="auth")):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert (copy.code, copy.reply, copy.stage, str(copy)) == (error.code, error.reply, error.stage, str(error))
