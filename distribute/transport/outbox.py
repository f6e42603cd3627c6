"""The file outbox: the transport of the embedded mode, and a way to inspect what would be sent."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from distribute.transport.interface import Envelope, SendResult, TransientSendError


_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$")


class OutboxTransport:
    """One .eml per message at {directory}/{campaign_ref}/{ref}.eml.

    Written to a temporary file in the same directory, fsynced, then renamed over the final name
    (rename is atomic within a file system, POSIX and Windows alike via os.replace): a crash leaves
    either no file or the whole message, and sending the same ref again replaces the file rather
    than adding a second one.
    """

    def __init__(self, directory: str | os.PathLike[str]):
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"OutboxTransport({str(self.directory)!r})"

    def path_for(self, envelope: Envelope) -> Path:
        for name in (envelope.campaign_ref, envelope.ref):
            if not _SAFE_NAME.match(name) or ".." in name:
                raise ValueError(f"unsafe name for an outbox file: {name!r}")
        return self.directory / envelope.campaign_ref / f"{envelope.ref}.eml"

    def send(self, envelope: Envelope, message: bytes) -> SendResult:
        path = self.path_for(envelope)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{envelope.ref}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(message)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except FileNotFoundError:
                    pass
                raise
            _fsync_directory(path.parent)  # make the rename itself durable
        except OSError as exc:  # a full disk or a permission is not the message's fault
            raise TransientSendError(f"cannot write {path}: {exc}", stage="write") from exc
        return SendResult(code=250, reply=f"2.0.0 written to {path}")

    def close(self) -> None:
        pass


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open a directory; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
