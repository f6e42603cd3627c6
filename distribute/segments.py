"""Saved segments: a small, safe rule language over contacts, compiled to SQL.

A rule reads like this:

    kind = journalist and beat in ("middle east", "human rights") and not tag = "do-not-pitch"

It is parsed (lark, LALR) into a small tree of `Condition`, `And`, `Or` and `Not`, which compiles
to one SQLAlchemy boolean expression over `Contact`. Values only ever reach the database as bound
parameters; no SQL is built from strings. String comparisons are case-insensitive: people type
"Middle East" and "middle east" and mean the same beat.

Every comparison is two-valued: a contact with no beat is simply not equal to "middle east", so
`not beat = "middle east"` and `beat != "middle east"` include it, where plain SQL NULL logic
would silently drop it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Iterable, Union

from lark import Lark, Token, Transformer, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from sqlalchemy import ColumnElement, String, and_, exists, func, not_, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from distribute.addresses import InvalidAddress, normalise
from distribute.errors import UserError
from distribute.models import Contact, ContactList, ContactTag, ListMember, Segment

KINDS = ("journalist", "supporter")
STATUSES = ("active", "unsubscribed", "bounced", "complained")

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
KNOWN_FIELDS = (*COLUMN_FIELDS, "domain", "tag", "list", "attr.NAME")
ATTRIBUTE_PREFIXES = ("attr", "attributes")
# Fields whose values are checked against a closed set when compared for equality.
CLOSED_VALUES = {"kind": KINDS, "status": STATUSES}

_EQUALITY_OPS = ("=", "!=", "in", "not in")
_LIST_OPS = (*_EQUALITY_OPS, "is empty", "is not empty")

MAX_RULE_LENGTH = 20_000
MAX_DEPTH = 100

EXAMPLE_RULE = 'kind = journalist and beat in ("middle east", "human rights") and not tag = "do-not-pitch"'

GRAMMAR = r"""
?start: or_expr

?or_expr: and_expr (_OR and_expr)*
?and_expr: not_expr (_AND not_expr)*
?not_expr: NOT not_expr -> negation
         | _atom
_atom: condition
     | "(" or_expr ")"

condition: field compare value
         | field member values
         | field emptiness

field: NAME ("." (ATTR_NAME | STRING))?

compare: EQ | NE | NOT? (CONTAINS | STARTSWITH | ENDSWITH)
member: NOT? IN
emptiness: IS NOT? EMPTY

values: "(" value ("," value)* ","? ")"
value: STRING | WORD

// Keywords outrank names; the contextual lexer only tries the terminals that can come next,
// so `kind = in` still reads "in" as a value.
_OR.2: /or\b/i
_AND.2: /and\b/i
NOT.2: /not\b/i
IN.2: /in\b/i
IS.2: /is\b/i
EMPTY.2: /empty\b/i
CONTAINS.2: /contains\b/i
STARTSWITH.2: /starts_?with\b/i
ENDSWITH.2: /ends_?with\b/i
EQ: /==?/
NE: /!=|<>/

NAME.1: /[A-Za-z_][A-Za-z0-9_]*/
ATTR_NAME: /[A-Za-z0-9_][A-Za-z0-9_\-]*/
STRING: /"(?:[^"\\\n]|\\.)*"/ | /'(?:[^'\\\n]|\\.)*'/
// A bare word: anything up to a space, bracket, comma, quote or operator (O'Brien is one word).
WORD: /[^\s()"',=!<>][^\s()",=!<>]*/

%import common.WS
%ignore WS
"""

_PARSER = Lark(GRAMMAR, parser="lalr", lexer="contextual", maybe_placeholders=False)


# ---------------------------------------------------------------------------------------------
# Errors


class RuleError(UserError):
    """A rule that cannot be used: bad syntax, an unknown field, a list that does not exist…"""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.line = line
        self.column = column


class UnknownList(RuleError):
    pass


class SegmentNotFound(UserError):
    pass


class SegmentExists(UserError):
    pass


# ---------------------------------------------------------------------------------------------
# The tree


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
        return f"attr.{self.attr}" if _is_simple_attr(self.attr or "") else f"attr.{_quote(self.attr or '')}"

    def __str__(self) -> str:
        if self.op in ("is empty", "is not empty"):
            return f"{self.field_label} {self.op}"
        if self.op in ("in", "not in"):
            return f"{self.field_label} {self.op} ({', '.join(_quote(v) for v in self.values)})"
        return f"{self.field_label} {self.op} {_quote(self.values[0])}"

    def to_sql(self) -> ColumnElement[bool]:
        if self.field == "tag":
            return _membership(self, select(ContactTag.contact_id).where(ContactTag.contact_id == Contact.id), ContactTag.tag)
        if self.field == "list":
            members = (
                select(ListMember.contact_id)
                .join(ContactList, ContactList.id == ListMember.list_id)
                .where(ListMember.contact_id == Contact.id)
            )
            return _membership(self, members, ContactList.name)
        values = self.values
        if self.field in ("email", "domain") and self.op in _EQUALITY_OPS:
            values = tuple(_as_stored(self.field, v) for v in values)
        positive = _predicate(self.op, _text(self._column()), values)
        return not_(positive) if _is_negative(self.op) else positive

    def _column(self) -> ColumnElement:
        if self.field == "attr":
            return Contact.attributes[self.attr].as_string()
        if self.field == "domain":
            return EmailDomain(Contact.email_key)
        return COLUMN_FIELDS[self.field]


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]

    def __str__(self) -> str:
        return " and ".join(f"({item})" if isinstance(item, Or) else str(item) for item in self.items)

    def to_sql(self) -> ColumnElement[bool]:
        return and_(*(item.to_sql() for item in self.items))


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]

    def __str__(self) -> str:
        # `and` binds tighter than `or`; the brackets make that visible in the canonical form.
        return " or ".join(f"({item})" if isinstance(item, And) else str(item) for item in self.items)

    def to_sql(self) -> ColumnElement[bool]:
        return or_(*(item.to_sql() for item in self.items))


@dataclass(frozen=True)
class Not:
    item: Node

    def __str__(self) -> str:
        return f"not ({self.item})" if isinstance(self.item, (And, Or)) else f"not {self.item}"

    def to_sql(self) -> ColumnElement[bool]:
        return not_(self.item.to_sql())


Node = Union[Condition, And, Or, Not]


@dataclass(frozen=True)
class Rule:
    """A parsed rule: the text as written and its tree. `str(rule)` is the canonical form, with
    every value quoted, which shows how `and`, `or` and `not` were grouped."""

    text: str
    root: Node

    def __str__(self) -> str:
        return str(self.root)

    def conditions(self) -> Iterable[Condition]:
        stack: list[Node] = [self.root]
        while stack:
            node = stack.pop()
            if isinstance(node, Condition):
                yield node
            elif isinstance(node, Not):
                stack.append(node.item)
            else:
                stack.extend(reversed(node.items))

    @property
    def list_names(self) -> list[str]:
        names: list[str] = []
        for cond in self.conditions():
            if cond.field == "list":
                names.extend(v for v in cond.values if v not in names)
        return names

    def check(self, session: Session) -> None:
        """Refuse the rule if it names a list that does not exist (lists are matched ignoring case)."""
        for cond in self.conditions():
            if cond.field == "list" and cond.values:
                check_lists_exist(session, cond.values, line=cond.line, column=cond.column)

    def to_sql(self) -> ColumnElement[bool]:
        """The rule as one boolean expression over Contact (correlated EXISTS for tags and lists)."""
        return self.root.to_sql()


# ---------------------------------------------------------------------------------------------
# SQL helpers


class EmailDomain(FunctionElement):
    """The part of an email key after the @ (keys are lowercase, with exactly one @)."""

    type = String()
    name = "email_domain"
    inherit_cache = True


@compiles(EmailDomain)
def _email_domain_default(element, compiler, **kw):
    (arg,) = element.clauses
    key = compiler.process(arg, **kw)
    return f"substr({key}, instr({key}, '@') + 1)"


@compiles(EmailDomain, "postgresql")
def _email_domain_postgresql(element, compiler, **kw):
    (arg,) = element.clauses
    return f"split_part({compiler.process(arg, **kw)}, '@', 2)"


def _as_stored(field_name: str, value: str) -> str:
    """An address or domain as keys store it (IDNA domain), so `domain = bücher.de` matches."""
    try:
        if field_name == "email":
            return normalise(value)[1]
        return normalise(f"x@{value}")[1].partition("@")[2]
    except InvalidAddress:
        return value  # not an address: compared as typed, and simply matches nothing


def _text(column) -> ColumnElement[str]:
    # coalesce: a missing value compares as the empty string, never as NULL (see the module doc).
    return func.coalesce(column, "", type_=String())


def _is_negative(op: str) -> bool:
    return op == "!=" or op.startswith("not ") or op == "is not empty"


def _predicate(op: str, column: ColumnElement[str], values: tuple[str, ...]) -> ColumnElement[bool]:
    """The positive form of `op` (`!=` → `=`, `not in` → `in`, …), ignoring case.

    Values are lowered in Python rather than in SQL, and when lowering changed them the value as
    typed is accepted too: SQLite's lower() folds ASCII only, so "Économie" stays "Économie"
    there, and lower(:value) = lower(column) would miss what the user typed exactly.
    """
    base = op.removeprefix("not ").replace("!=", "=").replace("is not empty", "is empty")
    if base == "is empty":
        return func.trim(column) == ""
    lowered = tuple(v.lower() for v in values)
    match = _compare(base, func.lower(column, type_=String()), lowered)
    if lowered != values:
        match = or_(match, _compare(base, column, values))
    return match


def _compare(base: str, target: ColumnElement[str], values: tuple[str, ...]) -> ColumnElement[bool]:
    if base == "=":
        return target == values[0]
    if base == "in":
        return target.in_(values)
    if base == "contains":
        return target.contains(values[0], autoescape=True)
    if base == "startswith":
        return target.startswith(values[0], autoescape=True)
    if base == "endswith":
        return target.endswith(values[0], autoescape=True)
    raise AssertionError(f"unhandled operator {base!r}")


def _membership(cond: Condition, rows, name_column) -> ColumnElement[bool]:
    """tag/list conditions: does the contact have a tag (be in a list) that matches?

    `tag != x` means "has no tag x", `tag is empty` means "has no tags at all".
    """
    if cond.op in ("is empty", "is not empty"):
        has_any = exists(rows).correlate(Contact)
        return not_(has_any) if cond.op == "is empty" else has_any
    has_match = exists(rows.where(_predicate(cond.op, name_column, cond.values))).correlate(Contact)
    return not_(has_match) if _is_negative(cond.op) else has_match


def check_lists_exist(session: Session, names: Iterable[str], *, line=None, column=None) -> None:
    """Refuse names that match no list, compared as `list = name` compares them (see _predicate)."""
    names = list(dict.fromkeys(names))
    lowered = [name.lower() for name in names]
    rows = session.execute(
        select(ContactList.name, func.lower(ContactList.name)).where(
            or_(func.lower(ContactList.name).in_(lowered), ContactList.name.in_(names))
        )
    ).all()
    exact, folded = {row[0] for row in rows}, {row[1] for row in rows}
    missing = [name for name in names if name not in exact and name.lower() not in folded]
    if not missing:
        return
    known = list(session.scalars(select(ContactList.name).order_by(ContactList.name).limit(50)))
    where = f" (line {line}, column {column})" if line else ""
    plural = "lists" if len(missing) > 1 else "list"
    message = f"no {plural} named {', '.join(_quote(m) for m in missing)}{where}"
    suggestion = difflib.get_close_matches(missing[0], known, n=1)
    if suggestion:
        message += f"; did you mean {_quote(suggestion[0])}?"
    message += f"; known lists: {', '.join(known)}" if known else "; there are no lists yet"
    raise UnknownList(message, line=line, column=column)


# ---------------------------------------------------------------------------------------------
# Parsing


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def _is_simple_attr(name: str) -> bool:
    return bool(name) and all(c.isascii() and (c.isalnum() or c in "_-") for c in name)


_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}


def _unquote(token: str) -> str:
    body, out, i = token[1:-1], [], 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


@dataclass(frozen=True)
class _Field:
    name: str
    attr: str | None
    line: int
    column: int


@dataclass(frozen=True)
class _Value:
    text: str
    line: int
    column: int


class _ToTree(Transformer):
    """lark's parse tree → our Rule nodes, checking fields and closed values on the way."""

    def or_expr(self, items):
        return Or(tuple(items))

    def and_expr(self, items):
        return And(tuple(items))

    def negation(self, items):
        return Not(items[-1])

    def field(self, tokens):
        head: Token = tokens[0]
        name = str(head).lower()
        if len(tokens) == 1:
            if name in ATTRIBUTE_PREFIXES:
                raise RuleError(
                    f"{head} needs an attribute name after a dot, e.g. {head}.country",
                    line=head.line,
                    column=head.column,
                )
            if name not in COLUMN_FIELDS and name not in ("domain", "tag", "list"):
                raise _unknown_field(str(head), head)
            return _Field(name, None, head.line, head.column)
        if name not in ATTRIBUTE_PREFIXES:
            raise _unknown_field(f"{head}.{tokens[1]}", head)
        attr_token: Token = tokens[1]
        attr = _unquote(attr_token) if attr_token.type == "STRING" else str(attr_token)
        if not attr or any(c in attr for c in '"\\') or not attr.isprintable():
            raise RuleError(
                f"an attribute name cannot be empty or contain quotes, "
                "backslashes or control characters",
                line=attr_token.line,
                column=attr_token.column,
            )
        return _Field("attr", attr, head.line, head.column)

    def compare(self, tokens):
        words = [str(t).lower() for t in tokens]
        if words[0] in ("=", "=="):
            return "="
        if words[0] in ("!=", "<>"):
            return "!="
        return " ".join("startswith" if w.startswith("starts") else "endswith" if w.startswith("ends") else w for w in words)

    def member(self, tokens):
        return "not in" if len(tokens) == 2 else "in"

    def emptiness(self, tokens):
        return "is not empty" if len(tokens) == 3 else "is empty"

    def value(self, tokens):
        token: Token = tokens[0]
        text = _unquote(token) if token.type == "STRING" else str(token)
        return _Value(text, token.line, token.column)

    def values(self, items):
        return tuple(items)

    def condition(self, items):
        fld: _Field = items[0]
        op: str = items[1]
        raw = items[2] if len(items) > 2 else ()
        values: tuple[_Value, ...] = raw if isinstance(raw, tuple) else (raw,)
        label = fld.name if fld.attr is None else f"attr.{fld.attr}"
        if fld.name == "list" and op not in _LIST_OPS:
            raise RuleError(
                f"list can only be used with "
                f"{', '.join(_LIST_OPS[:-1])} or {_LIST_OPS[-1]}, not {_quote(op)}",
                line=fld.line,
                column=fld.column,
            )
        allowed = CLOSED_VALUES.get(fld.name)
        if allowed and op in _EQUALITY_OPS:
            for value in values:
                if value.text.lower() not in allowed:
                    raise RuleError(
                        f"{label} must be "
                        f"{', '.join(allowed[:-1])} or {allowed[-1]}, not {_quote(value.text)}",
                        line=value.line,
                        column=value.column,
                    )
        return Condition(
            field=fld.name,
            op=op,
            values=tuple(v.text for v in values),
            attr=fld.attr,
            line=fld.line,
            column=fld.column,
        )


def _unknown_field(name: str, token: Token) -> RuleError:
    message = f"unknown field {_quote(name)}"
    candidates = [f for f in KNOWN_FIELDS if f != "attr.NAME"] + list(ATTRIBUTE_PREFIXES)
    close = difflib.get_close_matches(name.lower(), candidates, n=1, cutoff=0.6)
    if close:
        message += f" (did you mean {close[0]}?)"
    message += f"; known fields are {', '.join(KNOWN_FIELDS)} (attr.NAME reads a contact attribute)"
    return RuleError(message, line=token.line, column=token.column)


# How each terminal the parser may expect reads to a person.
_OPERATOR_TERMINALS = {"EQ", "NE", "IN", "IS", "CONTAINS", "STARTSWITH", "ENDSWITH"}
_DESCRIBE = {
    "NAME": "a field name (such as kind, beat or tag)",
    "ATTR_NAME": "an attribute name",
    "STRING": 'a value (a word or "quoted text")',
    "WORD": 'a value (a word or "quoted text")',
    "NOT": '"not"',
    "IN": '"in"',
    "IS": '"is"',
    "EMPTY": '"empty"',
    "CONTAINS": '"contains"',
    "STARTSWITH": '"startswith"',
    "ENDSWITH": '"endswith"',
    "EQ": '"="',
    "NE": '"!="',
    "_AND": '"and"',
    "_OR": '"or"',
    "LPAR": '"("',
    "RPAR": '")"',
    "COMMA": '","',
    "DOT": '"."',
    "$END": "the end of the rule",
}


def _describe_expected(expected: Iterable[str]) -> str:
    expected = set(expected)
    phrases: list[str] = []
    if len(expected & _OPERATOR_TERMINALS) >= 3:
        # Right after a field name: name the operators instead of listing terminals.
        phrases.append("an operator (=, !=, in, not in, contains, startswith, endswith, is empty, is not empty)")
        expected -= _OPERATOR_TERMINALS | {"NOT", "DOT"}
    order = list(_DESCRIBE)
    for name in sorted(expected, key=lambda n: order.index(n) if n in order else len(order)):
        phrase = _DESCRIBE.get(name, name)
        if phrase not in phrases:
            phrases.append(phrase)
    if len(phrases) == 1:
        return phrases[0]
    return ", ".join(phrases[:-1]) + " or " + phrases[-1]


def _position(text: str, index: int) -> tuple[int, int]:
    before = text[:index]
    line = before.count("\n") + 1
    column = index - (before.rfind("\n") + 1) + 1
    return line, column


def _pointer(text: str, line: int, column: int) -> str:
    source = text.splitlines()[line - 1] if text.splitlines() else ""
    return f"\n  {source}\n  {' ' * (column - 1)}^"


def _expected(exc: UnexpectedToken | UnexpectedEOF) -> set[str]:
    # `accepts` is what truly may come next; `expected` is the whole LALR state, which for a
    # value shared by `=` and `in (…)` also lists "," and ")".
    return set(getattr(exc, "accepts", None) or exc.expected)


def _syntax_error(text: str, exc: UnexpectedInput) -> RuleError:
    if isinstance(exc, UnexpectedCharacters):
        line, column = exc.line, exc.column
        char = text[exc.pos_in_stream]
        if char in "\"'":
            message = f"line {line}, column {column}: this quoted text is never closed; add the closing {char}"
        elif char in "&|":
            message = f'line {line}, column {column}: unexpected {_quote(char)}; write "and" or "or" in words'
        elif char in "<>":
            message = f"line {line}, column {column}: comparisons such as < and > are not supported"
        else:
            message = (
                f"line {line}, column {column}: unexpected {_quote(char)}; "
                f"expected {_describe_expected(exc.allowed or ())}"
            )
    elif isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        line, column = exc.line, exc.column
        found = str(exc.token)
        if found in ("&", "&&", "|", "||"):
            message = f'line {line}, column {column}: unexpected {_quote(found)}; write "and" or "or" in words'
        elif found == ")" and "RPAR" not in _expected(exc):
            message = f'line {line}, column {column}: this ")" has no "(" to close'
        else:
            message = (
                f"line {line}, column {column}: expected {_describe_expected(_expected(exc))}, "
                f"but found {_quote(found)}"
            )
    else:  # the rule stopped too early
        expected = _expected(exc) if isinstance(exc, (UnexpectedToken, UnexpectedEOF)) else ()
        line, column = _position(text, len(text.rstrip()))
        message = f"line {line}, column {column}: the rule ends too early; expected {_describe_expected(expected)}"
    return RuleError(f"bad rule at {message}{_pointer(text, line, column)}", line=line, column=column)


def parse_rule(text: str) -> Rule:
    """Parse a rule, checking its fields and the values of kind and status.

    Raises RuleError with the line, column and what was expected. Lists are checked later, by
    `Rule.check(session)` (or `compile_rule`), because that needs the database.
    """
    if not text or not text.strip():
        raise RuleError(f"the rule is empty; for example: {EXAMPLE_RULE}")
    if len(text) > MAX_RULE_LENGTH:
        raise RuleError(f"the rule is {len(text)} characters long; keep it under {MAX_RULE_LENGTH}")
    try:
        tree = _PARSER.parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    too_deep = RuleError(f"the rule nests more than {MAX_DEPTH} levels of not and brackets; simplify it")
    try:
        root = _ToTree().transform(tree)
    except RecursionError:
        raise too_deep from None
    except Exception as exc:  # lark wraps errors raised in a transformer
        inner = getattr(exc, "orig_exc", exc)
        if isinstance(inner, RuleError):
            raise RuleError(
                f"bad rule at line {inner.line}, column {inner.column}: {inner}"
                f"{_pointer(text, inner.line, inner.column)}",
                line=inner.line,
                column=inner.column,
            ) from None
        raise
    if _depth(root) > MAX_DEPTH:  # compiling to SQL recurses too
        raise too_deep
    return Rule(text.strip(), root)


def _depth(root: Node) -> int:
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, Not):
            stack.append((node.item, depth + 1))
        elif isinstance(node, (And, Or)):
            stack.extend((item, depth + 1) for item in node.items)
    return deepest


def compile_rule(text: str, session: Session) -> ColumnElement[bool]:
    """Parse, check against the database (list names), and compile to a boolean over Contact."""
    rule = parse_rule(text)
    rule.check(session)
    return rule.to_sql()


# ---------------------------------------------------------------------------------------------
# Saved segments


def _clean_name(name: str) -> str:
    cleaned = (name or "").strip()
    if not cleaned:
        raise UserError("a segment needs a name")
    if len(cleaned) > 200:
        raise UserError("a segment name can be at most 200 characters")
    return cleaned


def add_segment(session: Session, name: str, rule: str, replace: bool = False) -> Segment:
    """Save a rule under a name, after checking it parses and that its lists exist.

    An existing segment of that name is refused (SegmentExists) unless `replace` is true.
    """
    name = _clean_name(name)
    parsed = parse_rule(rule)
    parsed.check(session)
    segment = session.scalar(select(Segment).where(Segment.name == name))
    if segment is not None and not replace:
        raise SegmentExists(f"a segment named {_quote(name)} already exists (rule: {segment.rule})")
    if segment is None:
        segment = Segment(name=name, rule=parsed.text)
        session.add(segment)
    else:
        segment.rule = parsed.text
    session.flush()
    return segment


def get_segment(session: Session, name: str) -> Segment:
    segment = session.scalar(select(Segment).where(Segment.name == name))
    if segment is not None:
        return segment
    known = list(session.scalars(select(Segment.name).order_by(Segment.name)))
    message = f"no segment named {_quote(name)}"
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        message += f"; did you mean {_quote(close[0])}?"
    message += f"; known segments: {', '.join(known)}" if known else "; there are no segments yet"
    raise SegmentNotFound(message)


def list_segments(session: Session) -> list[Segment]:
    return list(session.scalars(select(Segment).order_by(Segment.name)))


def remove_segment(session: Session, name: str) -> None:
    session.delete(get_segment(session, name))
    session.flush()


def segment_expression(session: Session, segment: Segment | str) -> ColumnElement[bool]:
    """The saved rule of a segment as a boolean over Contact, re-checked against today's lists."""
    if isinstance(segment, str):
        segment = get_segment(session, segment)
    try:
        return compile_rule(segment.rule, session)
    except RuleError as exc:
        raise type(exc)(
            f"segment {_quote(segment.name)} can no longer be used: {exc}", line=exc.line, column=exc.column
        ) from None
