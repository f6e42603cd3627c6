"""Where returned mail is read from: a Maildir, an mbox file, .eml files, or an IMAP mailbox.

Every source yields `Incoming` items; the caller calls `.done()` once it has recorded what the
message said (committed), inside its loop (an IMAP connection closes when the iteration ends),
so a crash between reading and recording leaves the message to be read again -- the caller's
records are idempotent, the mailbox is only a queue.
  * Maildir: unprocessed mail is whatever lacks the "S" (seen) flag; done() moves it to cur/
    with "S" added (the Maildir convention: http://cr.yp.to/proto/maildir.html).
  * IMAP (RFC 3501): UNSEEN messages, fetched with BODY.PEEK[] so that reading does not set
    \\Seen; done() sets \\Seen, or moves the message when the URL has ?move=FOLDER.
  * mbox and .eml files are not rewritten (another program may own them): done() does nothing
    and the caller's idempotency makes a second reading harmless.
"""

from __future__ import annotations

import imaplib
import mailbox
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import parse_qs, unquote, urlsplit

from distribute.errors import UserError


_IMAP_ERROR = imaplib.IMAP4.error  # IMAP4_SSL raises it too


class MailboxError(UserError):
    """The mailbox cannot be opened or read: the message says which, and why (never the password)."""


@dataclass
class Incoming:
    label: str  # where it came from, for logs: "maildir:new/1712345.M1P2.host"
    raw: bytes
    _ack: Callable[[], None] = field(default=lambda: None, repr=False)

    def done(self) -> None:
        """The message was processed: do not yield it again."""
        self._ack()


def iter_messages(source: str | Path) -> Iterator[Incoming]:
    """Messages from a path (Maildir, mbox, .eml file, directory of .eml files) or an
    imap://user:pass@host:port/MAILBOX or imaps:// URL."""
    text = str(source)
    if text.startswith(("imap://", "imaps://")):
        return _imap(text)
    path = Path(text)
    if path.is_dir():
        if all((path / sub).is_dir() for sub in ("cur", "new", "tmp")):
            return _maildir(path)
        return _eml_files(sorted(path.glob("*.eml")))
    if not path.exists():
        raise MailboxError(f"{path}: no such file or folder (give a Maildir, an mbox, .eml files or an imap(s):// URL)")
    if _looks_like_mbox(path):
        return _mbox(path)
    return _eml_files([path])


def _looks_like_mbox(path: Path) -> bool:
    # An mbox file starts with a "From " separator line (RFC 4155); a message starts with a header.
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def _eml_files(paths: list[Path]) -> Iterator[Incoming]:
    for path in paths:
        yield Incoming(label=f"file:{path}", raw=path.read_bytes())


def _mbox(path: Path) -> Iterator[Incoming]:
    box = mailbox.mbox(path, create=False)
    try:
        for number, key in enumerate(box.iterkeys()):
            yield Incoming(label=f"mbox:{path}#{number}", raw=box.get_bytes(key))
    finally:
        box.close()


def _maildir(path: Path) -> Iterator[Incoming]:
    box = mailbox.Maildir(path, factory=None, create=False)
    for key in list(box.iterkeys()):
        try:
            message = box.get_message(key)
        except KeyError:  # taken by another reader since the listing
            continue
        if "S" in message.get_flags():
            continue
        yield Incoming(label=f"maildir:{message.get_subdir()}/{key}", raw=box.get_bytes(key),
                       _ack=lambda key=key: _maildir_seen(box, key))


def _maildir_seen(box: mailbox.Maildir, key: str) -> None:
    message = box.get_message(key)
    message.set_subdir("cur")
    message.add_flag("S")
    box[key] = message


def _imap(url: str) -> Iterator[Incoming]:
    parts = urlsplit(url)
    secure = parts.scheme == "imaps"
    port = parts.port or (imaplib.IMAP4_SSL_PORT if secure else imaplib.IMAP4_PORT)
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    move_to = (parse_qs(parts.query).get("move") or [None])[0]
    where = f"{parts.scheme}://{parts.username + '@' if parts.username else ''}{parts.hostname}:{port}/{folder}"
    try:
        yield from _imap_messages(parts, secure, port, folder, move_to)
    except (OSError, _IMAP_ERROR) as exc:
        raise MailboxError(f"{where}: {exc or type(exc).__name__}") from exc


def _imap_messages(parts, secure: bool, port: int, folder: str, move_to: str | None) -> Iterator[Incoming]:
    client = (imaplib.IMAP4_SSL if secure else imaplib.IMAP4)(parts.hostname or "localhost", port, timeout=60)
    try:
        client.login(unquote(parts.username or ""), unquote(parts.password or ""))
        status, detail = client.select(_quote(folder))
        if status != "OK":
            raise _IMAP_ERROR(f"cannot open mailbox {folder!r}: {detail!r}")
        # UIDs, not sequence numbers: moving or expunging one message renumbers the others.
        _, data = client.uid("SEARCH", None, "UNSEEN")
        for uid in (data[0] or b"").split():
            _, fetched = client.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((item[1] for item in fetched if isinstance(item, tuple)), None)
            if raw is None:
                continue
            yield Incoming(label=f"imap:{folder}/{uid.decode()}", raw=raw,
                           _ack=lambda uid=uid: _imap_done(client, uid, move_to))
        if move_to:
            client.expunge()
    finally:
        try:
            client.logout()
        except (_IMAP_ERROR, OSError):
            pass


def _imap_done(client: imaplib.IMAP4, uid: bytes, move_to: str | None) -> None:
    if not move_to:
        client.uid("STORE", uid, "+FLAGS", r"(\Seen)")
        return
    # RFC 6851 MOVE where the server has it; else the classic COPY, \Deleted, EXPUNGE.
    if "MOVE" in client.capabilities:
        client.uid("MOVE", uid, _quote(move_to))
    else:
        client.uid("COPY", uid, _quote(move_to))
        client.uid("STORE", uid, "+FLAGS", r"(\Seen \Deleted)")


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
