"""Reading a CSV file as it comes: bytes -> decoded lines -> records, each with the line it starts on.

Encoding (UTF-8 with or without a BOM, cp1252, Latin-1, UTF-16), line ends (LF, CRLF, old-Mac CR)
and delimiter (comma, semicolon, tab, pipe, or an Excel ``sep=`` line) are decided here. A broken
record is reported as the reason it cannot be read, at the line it starts on, and reading goes on.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections import deque
from collections.abc import Iterator
from typing import IO

from distribute.errors import UserError

MAX_LINE_BYTES = 100_000  # one physical line; longer is a broken file, not a contact
MAX_RECORD_LINES = 1_000  # a quoted field running longer than this is an unclosed quote
MAX_RECORD_CHARS = 120_000  # below csv's own field limit (131072), so ours speaks first
_BLOCK = 1 << 16


class _LineTooLong(Exception):
    pass


class _RecordTooLong(Exception):
    pass


class _BadLine(Exception):
    def __init__(self, line: int, reason: str):
        super().__init__(reason)
        self.line = line
        self.reason = reason


def _decode(raw: bytes) -> str:
    # Per line, so a file that is UTF-8 except for one pasted Windows line still reads, and
    # a non-ASCII byte late in a big file needs no second pass. Latin-1 decodes any byte.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class PhysicalLines:
    """The physical lines of a binary stream, without their end, each at most MAX_LINE_BYTES.

    Reads in blocks, so memory is bounded by the block and the line limit. Counts bytes read
    (of the original stream) for the progress bar.
    """

    def __init__(self, stream: IO[bytes], head: bytes, *, separator: bytes = b"\n", transcode: str | None = None):
        self._stream = stream
        self._separator = separator
        self._decoder = codecs.getincrementaldecoder(transcode)(errors="replace") if transcode else None
        self._lines: deque[bytes | None] = deque()  # None marks a line that was too long
        self._tail = b""
        self._discarding = False
        self._eof = False
        self.bytes_read = 0
        self._take(head)

    def _take(self, block: bytes, final: bool = False) -> None:
        self.bytes_read += len(block)
        if self._decoder is not None:
            block = self._decoder.decode(block, final).encode("utf-8")
        if self._discarding:
            cut = block.find(self._separator)
            if cut < 0:
                return
            block = block[cut + len(self._separator):]
            self._discarding = False
        parts = (self._tail + block).split(self._separator)
        self._tail = parts.pop()
        self._lines.extend(None if len(p) > MAX_LINE_BYTES else p for p in parts)
        if len(self._tail) > MAX_LINE_BYTES:
            self._lines.append(None)
            self._tail = b""
            self._discarding = True

    def next(self) -> bytes | None:
        """The next line, None at the end; raises _LineTooLong for a line over the limit."""
        while not self._lines:
            if self._eof:
                if self._tail:
                    line, self._tail = self._tail, b""
                    return line
                return None
            block = self._stream.read(_BLOCK)
            if block:
                self._take(block)
            else:
                self._eof = True
                if self._decoder is not None:
                    self._take(b"", final=True)
        line = self._lines.popleft()
        if line is None:
            raise _LineTooLong
        return line


class Feed:
    """The text lines csv.reader consumes, numbered.

    The lines of the record being read are kept (bounded by MAX_RECORD_*), so that a broken
    record is reported at the line it starts on and the lines after that start are read again
    as records of their own: an unclosed quote costs one row, not the rest of the file.
    """

    def __init__(self, lines: PhysicalLines):
        self.lines = lines
        self.line_no = 0
        self.record: list[tuple[int, str]] = []
        self.record_chars = 0
        self.replay: deque[tuple[int, str]] = deque()
        self.ran_out = False

    def __iter__(self) -> Feed:
        return self

    def __next__(self) -> str:
        if self.replay:
            number, text = self.replay.popleft()
        else:
            try:
                raw = self.lines.next()
            except _LineTooLong:
                self.line_no += 1
                raise _BadLine(self.line_no, f"the line is longer than {MAX_LINE_BYTES:,} bytes") from None
            if raw is None:
                self.ran_out = True
                raise StopIteration
            self.line_no += 1
            number = self.line_no
            # Every line gets its end back (a last line may lack one): then csv.reader only
            # asks for another line inside a quoted field, which is how an unclosed quote shows.
            text = _decode(raw) + "\n"
        self.record.append((number, text))
        self.record_chars += len(text)
        if len(self.record) > MAX_RECORD_LINES or self.record_chars > MAX_RECORD_CHARS:
            raise _RecordTooLong
        return text

    def start_record(self) -> None:
        self.record.clear()
        self.record_chars = 0
        self.ran_out = False

    def reread_after_first(self) -> int:
        """Queue the current record's lines after its first for reading again; its first line."""
        first = self.record[0][0]
        self.replay.extendleft(reversed(self.record[1:]))
        return first


def read_records(feed: Feed, delimiter: str) -> Iterator[tuple[int, list[str] | str]]:
    """(line the record starts on, its fields) or (line, why it cannot be read)."""
    reader = csv.reader(feed, delimiter=delimiter, quotechar='"', doublequote=True, strict=False)
    unclosed = "a quoted field is not closed (a stray double quote?)"
    while True:
        feed.start_record()
        try:
            fields = next(reader)
        except StopIteration:
            return
        except _BadLine as exc:
            if feed.record:
                yield feed.reread_after_first(), unclosed
            yield exc.line, exc.reason
            continue
        except _RecordTooLong:
            yield feed.reread_after_first(), f"{unclosed}; the record runs over {MAX_RECORD_CHARS:,} characters"
            continue
        except csv.Error as exc:
            if feed.record:
                yield feed.reread_after_first(), f"unreadable CSV: {exc}"
            else:
                yield feed.line_no, f"unreadable CSV: {exc}"
            continue
        if feed.ran_out and feed.record:
            # The reader asked for more lines than the file has: a quote opened and never closed.
            yield feed.reread_after_first(), unclosed
            continue
        yield feed.record[0][0], fields


def detect(stream: IO[bytes], name: str) -> PhysicalLines:
    head = stream.read(_BLOCK)
    if isinstance(head, str):
        raise TypeError("import_contacts reads bytes: open the file in binary mode ('rb')")
    if not head:
        raise UserError(f"{name} is empty")
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise UserError(f"{name} is a spreadsheet workbook (.xlsx/.xls/.ods), not CSV: save it as 'CSV UTF-8' and import that")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return PhysicalLines(stream, head, transcode="utf-16")
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8):]
    if b"\x00" in head[:4096]:
        sample = head[:4096]
        if sample[1::2].count(0) > len(sample) // 4:
            return PhysicalLines(stream, head, transcode="utf-16-le")
        if sample[0::2].count(0) > len(sample) // 4:
            return PhysicalLines(stream, head, transcode="utf-16-be")
        if sample.count(0) > max(8, len(sample) // 100):
            raise UserError(f"{name} is not a text file (it is full of NUL bytes): export it as CSV")
        # A stray NUL or two: the rows holding them are reported, the rest read.
    if b"\n" not in head and b"\r" in head:
        return PhysicalLines(stream, head, separator=b"\r")  # classic Mac line ends (old Excel)
    return PhysicalLines(stream, head)


def _sniff_delimiter(line: str) -> str:
    counts = dict.fromkeys((",", ";", "\t", "|"), 0)
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(counts, key=lambda c: counts[c])  # ties go to the earlier: comma first
    return best if counts[best] else ","


def find_header(feed: Feed, name: str) -> str:
    """Skip blank lines and an Excel 'sep=' line; leave the header line to be read; the delimiter."""
    delimiter = None
    while True:
        feed.start_record()
        try:
            text = next(feed)
        except StopIteration:
            raise UserError(f"{name} has no header line (it is empty)") from None
        except _BadLine as exc:
            raise UserError(f"{name}: the header line {exc.line} cannot be read: {exc.reason}") from None
        stripped = text.lstrip("\ufeff").strip()
        if not stripped.strip(",;\t|"):
            continue
        match = re.fullmatch(r'"?sep=(.)"?', text.lstrip("\ufeff").rstrip("\r\n"), re.IGNORECASE)
        if match and delimiter is None:
            delimiter = match.group(1)
            continue
        break
    feed.replay.appendleft(feed.record[-1])  # the header is read again, by csv.reader
    feed.start_record()
    return delimiter or _sniff_delimiter(stripped)
