"""The import: a CSV file read, its rows mapped and merged, and written in chunks."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from typing import IO

from sqlalchemy.orm import Session, sessionmaker

from distribute.contacts.columns import TAG_LIMIT, Columns, Row, normalise_tag
from distribute.models import KINDS
from distribute.contacts.reading import Feed, detect, find_header, read_records
from distribute.contacts.report import ImportReport
from distribute.contacts.writing import Writer, ensure_list
from distribute.errors import UserError
from distribute.models import ContactList

DEFAULT_CHUNK_SIZE = 2_000
_LIST_LIMIT = ContactList.__table__.c.name.type.length


def import_contacts(
    sessions: sessionmaker[Session],
    source: str | os.PathLike[str] | IO[bytes],
    *,
    kind: str,
    list_name: str | None = None,
    tags: Iterable[str] = (),
    on_progress: Callable[[int], None] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> ImportReport:
    """Import contacts from a CSV file (a path, or a binary file object) into the database.

    Every contact of the file gets `kind` (unless a `kind` column says otherwise), `tags`, and
    membership of the static list `list_name` (created if missing). `on_progress` is called
    with the number of bytes of the file read so far, once per chunk. See the docstring of
    distribute.contacts for the rules; raises UserError if the file cannot be read at all,
    before storing anything.

    Each chunk of `chunk_size` rows is one transaction, written by a helper thread while the
    next chunk is read; a database error ends the import and is raised here, with the chunks
    before it committed (running the import again is safe).
    """
    import_tags, list_name = _options(kind, tags, list_name)
    chunk_size = max(1, chunk_size)

    with ExitStack() as stack:
        stream, name = _opened(source, stack)
        feed = Feed(detect(stream, name))
        records = read_records(feed, find_header(feed, name))
        header_line, header = next(records, (0, ""))
        if isinstance(header, str):
            raise UserError(f"{name}: the header line {header_line} cannot be read: {header or 'no header'}")
        columns = Columns(header, name)

        report = ImportReport(list_name=list_name)
        list_id = ensure_list(sessions, list_name) if list_name else None
        writer = Writer(sessions, report, list_id, import_tags)
        stack.callback(writer.close)  # on an error below too: the thread ends, and the first error wins
        chunk: dict[str, Row] = {}
        pending = 0
        for line, fields in records:
            if isinstance(fields, str):
                report.skip(line, fields)
                continue
            joined = "".join(fields)
            if not joined.strip():
                continue  # a blank line, or a row of empty cells that spreadsheets leave
            if "\x00" in joined:
                report.skip(line, "the row holds NUL characters (part of a binary file?)")
                continue
            row = columns.row(fields, kind)
            if isinstance(row, str):
                report.skip(line, row)
                continue
            report.rows += 1
            earlier = chunk.get(row.key)
            if earlier is None:
                chunk[row.key] = row
            else:
                earlier.absorb(row)
                report.merged += 1
            pending += 1
            if pending >= chunk_size:
                writer.submit(chunk)
                chunk, pending = {}, 0
                if on_progress is not None:
                    on_progress(feed.lines.bytes_read)
        if chunk:
            writer.submit(chunk)
        writer.close()
        report.merged += writer.merged_later
        if on_progress is not None:
            on_progress(feed.lines.bytes_read)
    return report


def _options(kind: str, tags: Iterable[str], list_name: str | None) -> tuple[frozenset[str], str | None]:
    """The import's kind, tags and list name checked: (the tags normalised, the list name trimmed)."""
    if kind not in KINDS:
        raise UserError(f"unknown contact kind {kind!r}: use one of {', '.join(KINDS)}", field="kind")
    import_tags = frozenset(normalise_tag(t) for t in tags) - {""}
    for tag in import_tags:
        if len(tag) > TAG_LIMIT:
            raise UserError(f"tag {tag!r} is longer than {TAG_LIMIT} characters", field="tags")
    if list_name is not None:
        list_name = " ".join(list_name.split())
        if not list_name or len(list_name) > _LIST_LIMIT:
            raise UserError(f"a list name needs 1 to {_LIST_LIMIT} characters", field="list")
    return import_tags, list_name


def _opened(source: str | os.PathLike[str] | IO[bytes], stack: ExitStack) -> tuple[IO[bytes], str]:
    """(the binary stream, the name errors give it): a path is opened (and closed with `stack`)."""
    if not isinstance(source, (str, os.PathLike)):
        return source, str(getattr(source, "name", "the input"))
    name = os.fspath(source)
    try:
        return stack.enter_context(open(name, "rb")), name
    except FileNotFoundError:
        raise UserError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{name} is a directory, not a CSV file") from None
    except OSError as exc:
        raise UserError(f"{name} cannot be read: {exc.strerror}") from None
