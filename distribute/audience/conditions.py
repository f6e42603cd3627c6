"""One condition of a segment rule (`field op values`), and the fields and operators a rule
may use: what the parser (distribute.audience.rules) makes and the SQL (distribute.audience.rule_sql)
reads, so that neither needs the other's module."""

from __future__ import annotations

from dataclasses import dataclass, field

from distribute.audience.rule_errors import quote
from distribute.models import Contact

# Plain columns a rule may name; `email` is compared through the lowercased key.
COLUMN_FIELDS = {
    "email": Contact.email_key,
    "name": Contact.name,
    "kind": Contact.kind,
    "outlet": Contact.outlet,
    "beat": Contact.beat,
    "region": Contact.region,
    "language": Contact.language,
    "place": Contact.place,
    "status": Contact.status,
}
EQUALITY_OPS = ("=", "!=", "in", "not in")


@dataclass(frozen=True)
class Condition:
    """One comparison: `field op values`. `field` is a known field name, or "attr" with `attr` set."""

    field: str
    op: str
    values: tuple[str, ...] = ()
    attr: str | None = None
    line: int | None = field(default=None, compare=False)
    column: int | None = field(default=None, compare=False)

    @property
    def field_label(self) -> str:
        if self.field != "attr":
            return self.field
        return f"attr.{self.attr}" if _is_simple_attr(self.attr or "") else f"attr.{quote(self.attr or '')}"

    def __str__(self) -> str:
        if self.op in ("is empty", "is not empty"):
            return f"{self.field_label} {self.op}"
        if self.op in ("in", "not in"):
            return f"{self.field_label} {self.op} ({', '.join(quote(v) for v in self.values)})"
        return f"{self.field_label} {self.op} {quote(self.values[0])}"


def _is_simple_attr(name: str) -> bool:
    return bool(name) and all(c.isascii() and (c.isalnum() or c in "_-") for c in name)
