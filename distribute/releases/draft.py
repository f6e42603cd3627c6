"""What the release reader produces: a ReleaseDraft, or a ReleaseError that says on which line of
the file and why it could not be read (nothing is stored unless the whole file is understood)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from distribute.errors import UserError

MAX_TITLE = 500
MAX_SUBTITLE = 500
LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*")


class ReleaseError(UserError):
    """`line` (1-based, or None) and `reason` apart, so an editor can mark the line; `field` names
    an option at fault (title, language), which each interface words its own way."""

    code = "unreadable"

    def __init__(self, source: str, line: int | None, reason: str, *, field: str | None = None):
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {reason}", field=field)
        self.source = source
        self.line = line
        self.reason = reason

    def as_dict(self) -> dict:
        return super().as_dict() | {"line": self.line, "reason": self.reason}


@dataclass
class ReleaseDraft:
    """What the reader understood. The field names are the Release columns (distribute.models)."""

    title: str
    body: str
    source_format: str  # markdown | text
    subtitle: str | None = None
    label: str | None = None
    dateline: str | None = None
    dateline_dash: str | None = None
    release_date: dt.date | None = None
    embargo_until: dt.datetime | None = None
    language: str = "en"
    contacts: list[dict[str, Any]] = field(default_factory=list)
    boilerplate_heading: str | None = None
    boilerplate: str | None = None
    cta_label: str | None = None
    cta_url: str | None = None
    end_mark: str | None = None
    notes: list[str] = field(default_factory=list)
