"""The segment rule language: grammar, parsing, and the tree a rule becomes.

A rule reads like this:

    kind = journalist and beat in ("middle east", "human rights") and not tag = "do-not-pitch"

It is parsed (lark, LALR) into a small tree of `Condition`, `And`, `Or` and `Not`, which compiles
to one SQLAlchemy boolean expression over `Contact` (how each condition compares, and why, is in
`distribute.audience.rule_sql`). Fields and the values of kind and status are checked while parsing; list
names need the database and are checked by `Rule.check`. Errors say where, in `RuleError`
(`distribute.audience.rule_errors`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable, Union

from lark import Lark, Token, Transformer, UnexpectedInput
from sqlalchemy import ColumnElement, and_, not_, or_
from sqlalchemy.orm import Session

from distribute.audience.conditions import COLUMN_FIELDS, EQUALITY_OPS, Condition
from distribute.audience.rule_errors import RuleError, pointer, quote, syntax_error
from distribute.audience.rule_sql import check_lists_exist, condition_sql
from distribute.models import KINDS, STATUSES


KNOWN_FIELDS = (*COLUMN_FIELDS, "domain", "tag", "list", "attr.NAME")
ATTRIBUTE_PREFIXES = ("attr", "attributes")
# Fields whose values are checked against a closed set when compared for equality.
CLOSED_VALUES = {"kind": KINDS, "status": STATUSES}

_LIST_OPS = (*EQUALITY_OPS, "is empty", "is not empty")

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
# The tree


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]

    def __str__(self) -> str:
        return " and ".join(f"({item})" if isinstance(item, Or) else str(item) for item in self.items)

    def to_sql(self) -> ColumnElement[bool]:
        return and_(*(node_sql(item) for item in self.items))


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]

    def __str__(self) -> str:
        # `and` binds tighter than `or`; the brackets make that visible in the canonical form.
        return " or ".join(f"({item})" if isinstance(item, And) else str(item) for item in self.items)

    def to_sql(self) -> ColumnElement[bool]:
        return or_(*(node_sql(item) for item in self.items))


@dataclass(frozen=True)
class Not:
    item: Node

    def __str__(self) -> str:
        return f"not ({self.item})" if isinstance(self.item, (And, Or)) else f"not {self.item}"

    def to_sql(self) -> ColumnElement[bool]:
        return not_(node_sql(self.item))


Node = Union[Condition, And, Or, Not]


def node_sql(node: Node) -> ColumnElement[bool]:
    """A node of the tree as one boolean over Contact (a condition through rule_sql)."""
    return condition_sql(node) if isinstance(node, Condition) else node.to_sql()


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

    def check(self, session: Session) -> None:
        """Refuse the rule if it names a list that does not exist (lists are matched ignoring case)."""
        for cond in self.conditions():
            if cond.field == "list" and cond.values:
                check_lists_exist(session, cond.values, line=cond.line, column=cond.column)

    def to_sql(self) -> ColumnElement[bool]:
        """The rule as one boolean expression over Contact (correlated EXISTS for tags and lists)."""
        return node_sql(self.root)


# ---------------------------------------------------------------------------------------------
# Parsing


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
                "an attribute name cannot be empty or contain quotes, "
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
                "list can only be used with "
                f"{', '.join(_LIST_OPS[:-1])} or {_LIST_OPS[-1]}, not {quote(op)}",
                line=fld.line,
                column=fld.column,
            )
        allowed = CLOSED_VALUES.get(fld.name)
        if allowed and op in EQUALITY_OPS:
            for value in values:
                if value.text.lower() not in allowed:
                    raise RuleError(
                        f"{label} must be "
                        f"{', '.join(allowed[:-1])} or {allowed[-1]}, not {quote(value.text)}",
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
    message = f"unknown field {quote(name)}"
    candidates = [f for f in KNOWN_FIELDS if f != "attr.NAME"] + list(ATTRIBUTE_PREFIXES)
    close = difflib.get_close_matches(name.lower(), candidates, n=1, cutoff=0.6)
    if close:
        message += f" (did you mean {close[0]}?)"
    message += f"; known fields are {', '.join(KNOWN_FIELDS)} (attr.NAME reads a contact attribute)"
    return RuleError(message, line=token.line, column=token.column)


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
        raise syntax_error(text, exc) from None
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
                f"{pointer(text, inner.line, inner.column)}",
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
