"""A release body as email content: safe HTML and readable plain text from the same source.

Markdown goes through markdown-it with raw HTML off, so release text can add emphasis, lists and
links but never markup of its own; `javascript:` and other unsafe links are dropped by its link
validator. Plain-text releases are escaped paragraph by paragraph.
"""

from __future__ import annotations

import html
import re
import textwrap

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

_markdown = MarkdownIt("commonmark", {"html": False, "typographer": False})

# Bare URLs in pasted text become links; trailing punctuation stays outside the link.
_URL = re.compile(r"\bhttps?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")

WRAP = 72


# How a stored plain-text body writes a list item (the reader normalises to "- " and "1. ";
# bodies stored before it, and bodies given to blocks() by hand, may use any of these).
_ITEM = re.compile(r"^\s*(?:[•●▪■◦‣·○\-–*]|(\d{1,3})[.)])\s+(\S.*)$")


def blocks(body: str, source_format: str) -> list[tuple[str, object]]:
    """The body as ("p", text), ("ul", [items]) and ("ol", [items]) blocks, in order. A text
    body's blocks are separated by blank lines; a Markdown body's come from markdown-it."""
    if source_format != "text":
        return _markdown_blocks(body)
    out: list[tuple[str, object]] = []
    for chunk in re.split(r"\n\s*\n", body.strip("\n")):
        lines = [line for line in chunk.split("\n") if line.strip()]
        if not lines:
            continue
        items = [_ITEM.match(line) for line in lines]
        if all(items):
            kind = "ol" if all(m.group(1) for m in items) else "ul"
            out.append((kind, [m.group(2).strip() for m in items]))
        else:
            out.append(("p", " ".join(" ".join(line.split()) for line in lines)))
    return out


def _markdown_blocks(body: str) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    lists: list[list] = []  # open lists, each [kind, items]
    for tok in _markdown.parse(body):
        if tok.type in ("bullet_list_open", "ordered_list_open"):
            lists.append(["ul" if tok.type == "bullet_list_open" else "ol", []])
        elif tok.type in ("bullet_list_close", "ordered_list_close"):
            kind, items = lists.pop()
            if lists:  # a nested list: its items join the enclosing item's text
                lists[-1][1][-1] += " " + " ".join(items)
            else:
                out.append((kind, items))
        elif tok.type == "inline":
            text = " ".join(_plain_inline(tok.children or []).split())
            if lists and text:
                lists[-1][1].append(text)
            elif text:
                out.append(("p", text))
        elif tok.type in ("fence", "code_block") and tok.content.strip():
            out.append(("p", " ".join(tok.content.split())))
    return out


def _plain_inline(children: list[Token]) -> str:
    return "".join(t.content if t.type in ("text", "code_inline") else " " if t.type in ("softbreak", "hardbreak")
                   else "" for t in children)


def _link(match: re.Match) -> str:
    return f'<a href="{match.group(0)}">{match.group(0)}</a>'


def _text_html(text: str) -> str:
    return _URL.sub(_link, html.escape(text))


def body_html(body: str, source_format: str, dateline: str | None = None) -> Markup:
    """The body as HTML; `dateline` is the dateline as shown ("PARIS, 5 décembre 2026 –"),
    put in bold before the first paragraph."""
    if source_format == "text":
        parts = []
        for kind, value in blocks(body, "text"):
            if kind == "p":
                parts.append(f"<p>{_text_html(value)}</p>\n")
            else:
                items = "".join(f"<li>{_text_html(item)}</li>" for item in value)
                parts.append(f"<{kind}>{items}</{kind}>\n")
        rendered = "".join(parts)
    else:
        rendered = _markdown.render(body)
    if dateline:
        lead = f'<strong class="dateline">{html.escape(dateline)}</strong>'
        if rendered.startswith("<p>"):
            rendered = f"<p>{lead} {rendered[3:]}"
        else:
            rendered = f"<p>{lead}</p>\n{rendered}"
    return Markup(rendered)


def _inline_text(children: list[Token]) -> str:
    out: list[str] = []
    hrefs: list[tuple[str, int]] = []
    for tok in children:
        if tok.type in ("text", "code_inline", "html_inline"):
            out.append(tok.content)
        elif tok.type == "softbreak":
            out.append(" ")
        elif tok.type == "hardbreak":
            out.append("\n")
        elif tok.type == "image":
            out.append(f"[{tok.content or 'image'}]")
        elif tok.type == "link_open":
            hrefs.append((str(tok.attrs.get("href", "")), len(out)))
        elif tok.type == "link_close" and hrefs:
            href, start = hrefs.pop()
            label = "".join(out[start:])
            bare = href.removeprefix("mailto:")
            if href and bare not in label and label not in href:
                out.append(f" ({bare})")
            elif href and label != bare and label in href and not label.startswith(("http", "www")):
                out.append(f" ({href})")
    return "".join(out)


def _wrap(text: str, first: str = "", rest: str = "") -> str:
    lines = []
    for i, chunk in enumerate(text.split("\n")):
        lines.append(
            textwrap.fill(chunk, WRAP, initial_indent=first if i == 0 else rest, subsequent_indent=rest,
                          break_long_words=False, break_on_hyphens=False)
        )
    return "\n".join(lines)


def body_text(body: str, source_format: str, dateline: str | None = None) -> str:
    """Plain text of the body, wrapped for reading, lists indented, links written out after their
    words; `dateline` as in body_html."""
    parts: list[str] = []
    if source_format == "text":
        for kind, value in blocks(body, "text"):
            if kind == "p":
                parts.append(_wrap(value))
            else:
                parts += [_wrap(item, f"{'-' if kind == 'ul' else f'{n}.'} ", "   " if kind == "ol" else "  ")
                          for n, item in enumerate(value, start=1)]
    else:
        lists: list[list] = []  # [bullet, counter] per open list
        pending_item = heading = False
        quote = 0
        for tok in _markdown.parse(body):
            if tok.type == "bullet_list_open":
                lists.append(["-", 0])
            elif tok.type == "ordered_list_open":
                lists.append(["1.", int(tok.attrs.get("start", 1) or 1) - 1])
            elif tok.type in ("bullet_list_close", "ordered_list_close"):
                lists.pop()
            elif tok.type == "list_item_open":
                pending_item = True
            elif tok.type == "heading_open":
                heading = True
            elif tok.type == "blockquote_open":
                quote += 1
            elif tok.type == "blockquote_close":
                quote -= 1
            elif tok.type == "hr":
                parts.append("-" * 20)
            elif tok.type in ("fence", "code_block"):
                parts.append(tok.content.rstrip("\n"))
            elif tok.type == "inline":
                text = _inline_text(tok.children or [])
                indent = "  " * max(len(lists) - 1, 0) + "> " * quote
                if pending_item and lists:
                    kind = lists[-1]
                    kind[1] += 1
                    bullet = "-" if kind[0] == "-" else f"{kind[1]}."
                    parts.append(_wrap(text, indent + bullet + " ", indent + " " * (len(bullet) + 1)))
                    pending_item = False
                else:
                    parts.append(_wrap(text.upper() if heading else text, indent, indent))
                    heading = False
    if dateline and parts and not _is_item(parts[0]):
        parts[0] = _wrap(f"{dateline} " + parts[0].replace("\n", " "))
    elif dateline:
        parts.insert(0, dateline)
    return _join_blocks(parts)


def _join_blocks(blocks: list[str]) -> str:
    """Blank lines between blocks, but none between the items of one list."""
    out = ""
    for block in blocks:
        if out and _is_item(block) and _is_item(out.rsplit("\n\n", 1)[-1]):
            out += "\n" + block
        else:
            out += ("\n\n" if out else "") + block
    return out


def _is_item(block: str) -> bool:
    return bool(re.match(r"\s*(?:- |\d+\. )", block))
