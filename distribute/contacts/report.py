"""What an import did: the counts, and the rows it skipped with their line and reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_SKIPPED_LISTED = 100_000  # beyond this only a count is kept, so memory stays bounded


@dataclass
class ImportReport:
    """What an import did. rows = imported + updated + unchanged + merged + skipped."""

    rows: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    skipped_not_listed: int = 0
    list_name: str | None = None

    @property
    def skipped_count(self) -> int:
        return len(self.skipped) + self.skipped_not_listed

    def skip(self, line: int, reason: str) -> None:
        self.rows += 1
        if len(self.skipped) < MAX_SKIPPED_LISTED:
            self.skipped.append((line, reason))
        else:
            self.skipped_not_listed += 1

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "merged": self.merged,
            "skipped": [{"line": line, "reason": reason} for line, reason in self.skipped],
            "rows": self.rows,
            "list": self.list_name,
        }
        if self.skipped_not_listed:
            data["skipped_not_listed"] = self.skipped_not_listed
        return data
