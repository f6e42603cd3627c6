"""Errors in segment rules, with the line and column they point at.

lark's syntax errors name grammar terminals (`_AND`, `$END`, `RPAR`); `syntax_error` turns them
into a message a person can act on, with the offending line and a caret under the spot.
"""

from __future__ import annotations

from typing import Iterable

from lark import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from distribute.errors import UserError


class RuleError(UserError):
    """A rule that cannot be used: bad syntax, an unknown field, a list that does not exist…

    `line` and `column` (1-based) point at the spot, so that a form can put a caret under it."""

    code = "bad_rule"

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None):
        super().__init__(message, field="rule")
        self.line = line
        self.column = column

    def as_dict(self) -> dict:
        return super().as_dict() | {"line": self.line, "column": self.column}


class UnknownList(RuleError):
    pass


def quote(value: str) -> str:
    """A value as a rule writes it: double-quoted, with backslash escapes the grammar reads back."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def pointer(text: str, line: int, column: int) -> str:
    """The rule's line `line`, and a caret under `column`, to end a message with."""
    source = text.splitlines()[line - 1] if text.splitlines() else ""
    return f"\n  {source}\n  {' ' * (column - 1)}^"


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


def _expected(exc: UnexpectedToken | UnexpectedEOF) -> set[str]:
    # `accepts` is what truly may come next; `expected` is the whole LALR state, which for a
    # value shared by `=` and `in (…)` also lists "," and ")".
    return set(getattr(exc, "accepts", None) or exc.expected)


def syntax_error(text: str, exc: UnexpectedInput) -> RuleError:
    """lark's error for `text` as a RuleError: where, what was found, and what may come there."""
    if isinstance(exc, UnexpectedCharacters):
        line, column = exc.line, exc.column
        char = text[exc.pos_in_stream]
        if char in "\"'":
            message = f"line {line}, column {column}: this quoted text is never closed; add the closing {char}"
        elif char in "&|":
            message = f'line {line}, column {column}: unexpected {quote(char)}; write "and" or "or" in words'
        elif char in "<>":
            message = f"line {line}, column {column}: comparisons such as < and > are not supported"
        else:
            message = (
                f"line {line}, column {column}: unexpected {quote(char)}; "
                f"expected {_describe_expected(exc.allowed or ())}"
            )
    elif isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        line, column = exc.line, exc.column
        found = str(exc.token)
        if found in ("&", "&&", "|", "||"):
            message = f'line {line}, column {column}: unexpected {quote(found)}; write "and" or "or" in words'
        elif found == ")" and "RPAR" not in _expected(exc):
            message = f'line {line}, column {column}: this ")" has no "(" to close'
        else:
            message = (
                f"line {line}, column {column}: expected {_describe_expected(_expected(exc))}, "
                f"but found {quote(found)}"
            )
    else:  # the rule stopped too early
        expected = _expected(exc) if isinstance(exc, (UnexpectedToken, UnexpectedEOF)) else ()
        line, column = _position(text, len(text.rstrip()))
        message = f"line {line}, column {column}: the rule ends too early; expected {_describe_expected(expected)}"
    return RuleError(f"bad rule at {message}{pointer(text, line, column)}", line=line, column=column)
