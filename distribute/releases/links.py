"""Link tracking: what is written into a campaign's message so that opens and clicks come back.

Once per campaign (when sending starts) every http(s) link of the compiled message is replaced
by a placeholder, and the campaign keeps the list of the links it rewrote. Per recipient the
placeholder becomes `BASE/c/TOKEN`, where TOKEN signs (delivery ref, campaign ref, link number)
with HMAC-SHA256. The redirector answers only a token it signed, and only with a link from that
campaign's own list: an edited token fails its signature, and no part of the URL is ever taken
from the request, so it cannot be turned into an open redirect. (The tokens are made and read
in distribute.signing.)

Tokens carry random references only, never an address or a sequential id.
"""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import urlsplit

import lxml.etree
import lxml.html

from distribute.releases.rendering import CompiledMessage

OPEN_PIXEL = "open_url"
# A URL in the text part starts a word: "xhttps://…" is not a link a reader can follow.
_TEXT_URL = re.compile(r"(?<!\w)https?://[^\s<>\"')\]]+")
_TRAILING = ".,;:!?"
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")


def click_name(n: int) -> str:
    """Link number n as a placeholder name: letters only (see distribute.releases.rendering), base 26."""
    letters = ""
    while True:
        n, r = divmod(n, 26)
        letters = chr(65 + r) + letters
        if n == 0:
            return f"click_{letters}"


def click_index(name: str) -> int | None:
    """'click_ab' -> its link number, for any name click_name makes."""
    if not name.startswith("click_"):
        return None
    n = 0
    for ch in name[6:].upper():
        n = n * 26 + (ord(ch) - 65)
    return n


def trackable(url: str) -> bool:
    """Only absolute http(s) links are rewritten: mailto:, tel:, anchors and placeholders stay."""
    if _UNSAFE.search(url):  # urlsplit would drop a CR or LF silently; a Location header cannot carry it
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def add_tracking(compiled: CompiledMessage) -> CompiledMessage:
    """The compiled message with its links rewritten and an open pixel added; done once per campaign.

    Only the href of a real <a> element is a link: the HTML is parsed, so `href="…"` written in
    a release's text is text, never rewritten and never added to the campaign's link list."""
    links: list[str] = []
    index: dict[str, int] = {}

    doc = lxml.html.document_fromstring(compiled.html)
    for anchor in doc.iter("a"):
        url = (anchor.get("href") or "").strip()
        if trackable(url):
            if url not in index:
                index[url] = len(links)
                links.append(url)
            anchor.set("href", compiled.placeholder(click_name(index[url])))
    tree = doc.getroottree()
    # Serialised as premailer serialised it (lxml, HTML method), so nothing else changes.
    body = lxml.etree.tostring(tree, method="html", encoding="unicode", doctype=tree.docinfo.doctype)
    pixel = (f'<img src="{compiled.placeholder(OPEN_PIXEL)}" width="1" height="1" alt="" '
             'style="display:block;width:1px;height:1px;border:0;">')
    body = body.replace("</body>", pixel + "</body>", 1) if "</body>" in body else body + pixel

    def text_url(match: re.Match) -> str:
        url = match.group(0).rstrip(_TRAILING)
        rest = match.group(0)[len(url):]
        # The text part links only to what the HTML part links to (the same release fields).
        return compiled.placeholder(click_name(index[url])) + rest if url in index else match.group(0)

    text = _TEXT_URL.sub(text_url, compiled.text)
    return dataclasses.replace(compiled, html=body, text=text, links=tuple(links))
