"""Where returned mail is read from: a Maildir, an mbox file, .eml files, or an IMAP mailbox.

Every source yields `Incoming` items; the caller calls `.done()` once it has recorded what the
message said (committed), inside its loop (an IMAP connection closes when the iteration ends),
so a crash between reading and recording leaves the message to be read again -- the caller's
records are idempotent, the mailbox is only a queue.
  * Maildir: unprocessed mail is whatever lacks the "S" (seen) flag; done() renames it into cur/
    with "S" added (the Maildir convention: http://cr.yp.to/proto/maildir.html). The flags are
    read from the file's name and set by renaming it: the message itself is never parsed or
    rewritten here.
  * IMAP (RFC 3501): UNSEEN messages, fetched with BODY.PEEK[] so that reading does not set
    \\Seen; done() sets \\Seen, or moves the message when the URL has ?move=FOLDER.
  * mbox and .eml files are not rewritten (another program may own them): done() does nothing
    and the caller's idempotency makes a second reading harmless.

Anyone can mail the bounce address, so with `max_bytes` a message larger than that is not read:
its size is looked at first (the file's, or IMAP's RFC822.SIZE) and it is yielded with `raw`
None, for the caller to record and acknowledge.
"""

from __future__ import annotations

import imaplib
import mailbox
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import parse_qs, unquote, urlsplit

from distribute.errors import UserError


_IMAP_ERROR = imaplib.IMAP4.error  # IMAP4_SSL raises it too
_RFC822_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)", re.I)


class MailboxError(UserError):
    """The mailbox cannot be opened or read: the message says which, and why (never the password)."""


@dataclass
class Incoming:
    label: str  # where it came from, for logs: "maildir:new/1712345.M1P2.host"
    raw: bytes | None  # None: larger than the reader's max_bytes, so not read
    size: int  # bytes, as stored
    _ack: Callable[[], None] = field(default=lambda: None, repr=False)

    def done(self) -> None:
        """The message was processed: do not yield it again."""
        self._ack()


def iter_messages(source: str | Path, *, max_bytes: int | None = None) -> Iterator[Incoming]:
    """Messages from a path (Maildir, mbox, .eml file, directory of .eml files) or an
    imap://user:pass@host:port/MAILBOX or imaps:// URL; those over max_bytes are not read."""
    limit = max_bytes if max_bytes is not None else math.inf
    text = str(source)
    if text.startswith(("imap://", "imaps://")):
        return _imap(text, limit)
    path = Path(text)
    if path.is_dir():
        if all((path / sub).is_dir() for sub in ("cur", "new", "tmp")):
            return _maildir(path, limit)
        return _eml_files(sorted(path.glob("*.eml")), limit)
    if not path.exists():
        raise MailboxError(f"{path}: no such file or folder (give a Maildir, an mbox, .eml files or an imap(s):// URL)")
    if _looks_like_mbox(path):
        return _mbox(path, limit)
    return _eml_files([path], limit)


def _looks_like_mbox(path: Path) -> bool:
    # An mbox file starts with a "From " separator line (RFC 4155); a message starts with a header.
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def _eml_files(paths: list[Path], limit: float) -> Iterator[Incoming]:
    for path in paths:
        size = path.stat().st_size
        yield Incoming(label=f"file:{path}", raw=path.read_bytes() if size <= limit else None, size=size)


def _mbox(path: Path, limit: float) -> Iterator[Incoming]:
    box = mailbox.mbox(path, create=False)
    try:
        for number, key in enumerate(box.iterkeys()):
            size = _size(box.get_file(key))
            raw = box.get_bytes(key) if size <= limit else None
            yield Incoming(label=f"mbox:{path}#{number}", raw=raw, size=size)
    finally:
        box.close()


def _size(handle) -> int:
    """The size of a message from its file (mbox's seeks within the message)."""
    with handle:
        handle.seek(0, os.SEEK_END)
        return handle.tell()


def _maildir(path: Path, limit: float) -> Iterator[Incoming]:
    # The factory reads nothing: get_message then gives only the subfolder and flags, which
    # come from the file's name.
    box = mailbox.Maildir(path, factory=lambda _file: mailbox.MaildirMessage(), create=False)
    for key in list(box.iterkeys()):
        try:
            flags = box.get_message(key)
            if "S" in flags.get_flags():
                continue
            size = _size(box.get_file(key))
            raw = box.get_bytes(key) if size <= limit else None
        except (KeyError, FileNotFoundError):  # taken by another reader since the listing
            continue
        yield Incoming(label=f"maildir:{flags.get_subdir()}/{key}", raw=raw, size=size,
                       _ack=lambda key=key: _maildir_seen(path, box, key))


def _maildir_seen(path: Path, box: mailbox.Maildir, key: str) -> None:
    """Rename the message's file (KEY, or KEY:2,FLAGS) into cur/ with "S" added to its flags."""
    message = box.get_message(key)
    before = path / message.get_subdir() / _maildir_name(box, key, message)
    message.set_subdir("cur")
    message.add_flag("S")
    os.rename(before, path / "cur" / _maildir_name(box, key, message))


def _maildir_name(box: mailbox.Maildir, key: str, message: mailbox.MaildirMessage) -> str:
    return f"{key}{box.colon}{message.get_info()}" if message.get_info() else key


def _imap(url: str, limit: float) -> Iterator[Incoming]:
    parts = urlsplit(url)
    secure = parts.scheme == "imaps"
    port = parts.port or (imaplib.IMAP4_SSL_PORT if secure else imaplib.IMAP4_PORT)
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    move_to = (parse_qs(parts.query).get("move") or [None])[0]
    where = f"{parts.scheme}://{parts.username + '@' if parts.username else ''}{parts.hostname}:{port}/{folder}"
    try:
        yield from _imap_messages(parts, secure, port, folder, move_to, limit)
    except (OSError, _IMAP_ERROR) as exc:
        raise MailboxError(f"{where}: {exc or type(exc).__name__}") from exc


def _imap_messages(parts, secure: bool, port: int, folder: str, move_to: str | None,
                   limit: float) -> Iterator[Incoming]:
    client = (imaplib.IMAP4_SSL if secure else imaplib.IMAP4)(parts.hostname or "localhost", port, timeout=60)
    try:
        client.login(unquote(parts.username or ""), unquote(parts.password or ""))
        status, detail = client.select(_quote(folder))
        if status != "OK":
            raise _IMAP_ERROR(f"cannot open mailbox {folder!r}: {detail!r}")
        # UIDs, not sequence numbers: moving or expunging one message renumbers the others.
        _, data = client.uid("SEARCH", None, "UNSEEN")
        for uid in (data[0] or b"").split():
            label, ack = f"imap:{folder}/{uid.decode()}", lambda uid=uid: _imap_done(client, uid, move_to)
            size = _imap_size(client, uid) if limit != math.inf else None
            if size is not None and size > limit:
                yield Incoming(label=label, raw=None, size=size, _ack=ack)
                continue
            _, fetched = client.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((item[1] for item in fetched if isinstance(item, tuple)), None)
            if raw is None:
                continue
            yield Incoming(label=label, raw=raw if len(raw) <= limit else None, size=len(raw), _ack=ack)
        if move_to:
            client.expunge()
    finally:
        try:
            client.logout()
        except (_IMAP_ERROR, OSError):
            pass


def _imap_size(client: imaplib.IMAP4, uid: bytes) -> int | None:
    """RFC822.SIZE (RFC 3501 6.4.5), asked before the message is fetched."""
    _, fetched = client.uid("FETCH", uid, "(RFC822.SIZE)")
    for item in fetched:
        line = item[0] if isinstance(item, tuple) else item
        match = _RFC822_SIZE.search(line) if isinstance(line, bytes) else None
        if match:
            return int(match.group(1))
    return None


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
