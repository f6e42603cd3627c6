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


def _dateline_html(dateline: str | None) -> str:
    return f'<strong class="dateline">{html.escape(dateline)}</strong> – ' if dateline else ""


def _link(match: re.Match) -> str:
    return f'<a href="{match.group(0)}">{match.group(0)}</a>'


def body_html(body: str, source_format: str, dateline: str | None = None) -> Markup:
    if source_format == "text":
        paragraphs = [p for p in body.split("\n\n") if p.strip()]
        rendered = "".join(f"<p>{_URL.sub(_link, html.escape(p.strip()))}</p>\n" for p in paragraphs)
    else:
        rendered = _markdown.render(body)
    if dateline and rendered.startswith("<p>"):
        rendered = "<p>" + _dateline_html(dateline) + rendered[3:]
    elif dateline:
        rendered = f"<p>{_dateline_html(dateline).rstrip(' –')}</p>\n" + rendered
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
    """Plain text of the body, wrapped for reading, links written out after their words."""
    blocks: list[str] = []
    if source_format == "text":
        blocks = [_wrap(" ".join(p.split())) for p in body.split("\n\n") if p.strip()]
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
                blocks.append("-" * 20)
            elif tok.type in ("fence", "code_block"):
                blocks.append(tok.content.rstrip("\n"))
            elif tok.type == "inline":
                text = _inline_text(tok.children or [])
                indent = "  " * max(len(lists) - 1, 0) + "> " * quote
                if pending_item and lists:
                    kind = lists[-1]
                    kind[1] += 1
                    bullet = "-" if kind[0] == "-" else f"{kind[1]}."
                    blocks.append(_wrap(text, indent + bullet + " ", indent + " " * (len(bullet) + 1)))
                    pending_item = False
                else:
                    blocks.append(_wrap(text.upper() if heading else text, indent, indent))
                    heading = False
    text = _join_blocks(blocks)
    if dateline:
        text = _wrap(f"{dateline} – " + text.split("\n\n", 1)[0].replace("\n", " ")) + (
            "\n\n" + text.split("\n\n", 1)[1] if "\n\n" in text else ""
        )
    return text


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
