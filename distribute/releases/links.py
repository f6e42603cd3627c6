"""Open and click tracking: what is written into a campaign's message, and how a request that
comes back is read.

Once per campaign (when sending starts) every http(s) link of the compiled message is replaced
by a placeholder, and the campaign keeps the list of the links it rewrote. Per recipient the
placeholder becomes `BASE/c/TOKEN`, where TOKEN signs (delivery ref, campaign ref, link number)
with HMAC-SHA256. The redirector answers only a token it signed, and only with a link from that
campaign's own list: an edited token fails its signature, and no part of the URL is ever taken
from the request, so it cannot be turned into an open redirect.

Tokens carry random references only, never an address or a sequential id.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import ipaddress
import re
from urllib.parse import urlsplit

import lxml.etree
import lxml.html

from distribute.rendering import CompiledMessage
from distribute.tokens import LinkSigner

OPEN_PIXEL = "open_url"
# A URL in the text part starts a word: "xhttps://…" is not a link a reader can follow.
_TEXT_URL = re.compile(r"(?<!\w)https?://[^\s<>\"')\]]+")
_TRAILING = ".,;:!?"
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")


def click_name(n: int) -> str:
    """Link number n as a placeholder name: letters only (see distribute.rendering), base 26."""
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


class Tokens:
    """The signed tokens of every public link. One key per purpose, so that a token made for
    one endpoint is refused by every other."""

    def __init__(self, secret: str):
        self.open = LinkSigner(secret, "open")
        self.click = LinkSigner(secret, "click")
        self.unsubscribe = LinkSigner(secret, "unsubscribe")
        self._bounce_key = hashlib.sha256(f"distribute.bounce:{secret}".encode()).digest()

    def click_token(self, ref: str, campaign_ref: str, n: int) -> str:
        return self.click.sign(f"{ref}.{campaign_ref}.{n}")

    def verp(self, ref: str) -> str | None:
        """The token of a VERP return path ("bounces+TOKEN@…"): the ref and a truncated HMAC, in
        lowercase base32. A local part must fit 64 octets (RFC 5321 4.5.3.1.1), and MTAs may
        change its case, so the token is short and case-free. None for a ref that is not ours."""
        try:
            raw = base64.urlsafe_b64decode(ref + "=" * (-len(ref) % 4))
        except (ValueError, TypeError):
            return None
        if base64.urlsafe_b64encode(raw).decode().rstrip("=") != ref:
            return None
        return f"{_b32(raw)}-{_b32(self._verp_mac(raw))}"

    def read_verp(self, token: str) -> str | None:
        token = token.lower()  # the one liberty taken: MTAs may change a local part's case
        try:
            raw = _unb32(token.partition("-")[0])
        except (ValueError, TypeError):
            return None
        # Compared as the text verp() writes, not as decoded bytes: base32 of a reference ends
        # in unused bits, and a token that differs only there must not pass.
        if not hmac.compare_digest(f"{_b32(raw)}-{_b32(self._verp_mac(raw))}", token):
            return None
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _verp_mac(self, raw: bytes) -> bytes:
        return hmac.new(self._bounce_key, raw, hashlib.sha256).digest()[:10]  # 80 bits

    def read_click(self, token: str) -> tuple[str, str, int] | None:
        value = self.click.unsign(token)
        if value is None:
            return None
        ref, campaign_ref, n = value.split(".")
        return ref, campaign_ref, int(n)


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=").lower()


def _unb32(text: str) -> bytes:
    return base64.b32decode(text.upper() + "=" * (-len(text) % 8))


# --- who opened it ------------------------------------------------------------------------------
# Proxies that fetch images for the reader (Gmail, Yahoo) or for everyone at delivery (Apple Mail
# Privacy Protection), and link scanners: an open by any of them says nothing about a person.
_MACHINE_AGENTS = (
    ("gmail-proxy", re.compile(r"GoogleImageProxy|ggpht\.com", re.I)),
    ("yahoo-proxy", re.compile(r"YahooMailProxy", re.I)),
    ("scanner", re.compile(r"Barracuda|Mimecast|Proofpoint|Symantec|MessageLabs|SafeLinks|Forcepoint|"
                           r"Trend ?Micro|Sophos|bot\b|crawler|spider|python-requests|Python-urllib|aiohttp|curl/|Wget|"
                           r"Go-http-client|okhttp|Java/", re.I)),
)
# Apple's MPP fetches through Apple's own network, 17.0.0.0/8, with a browser-like agent that
# carries no mail client's name.
_APPLE = ipaddress.ip_network("17.0.0.0/8")


def machine_open(user_agent: str | None, ip: str | None, seconds_after_send: float | None,
                 scanner_window: float) -> str | None:
    """Why an open is a machine's ("apple-mpp", "gmail-proxy", "scanner", "too-soon"), or None."""
    agent = user_agent or ""
    for name, pattern in _MACHINE_AGENTS:
        if pattern.search(agent):
            return name
    address = _address(ip)
    if address is not None and address.version == 4 and address in _APPLE:
        return "apple-mpp"
    if not agent.strip():
        return "scanner"
    if seconds_after_send is not None and 0 <= seconds_after_send < scanner_window:
        return "too-soon"
    return None


def _address(ip: str | None):
    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return None
    # "::ffff:17.1.2.3" is an IPv4 client seen through a dual-stack socket.
    return address.ipv4_mapped or address if address.version == 6 else address


def truncate_ip(ip: str | None) -> str | None:
    """The network, not the host: /24 for IPv4, /48 for IPv6 (what analytics tools keep)."""
    address = _address(ip)
    if address is None:
        return None
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


# A string that can only be IP addresses (one, or a comma-separated list as X-Forwarded-For
# writes them): checked before parsing, so ordinary text costs one regex match.
_IP_LIKE = re.compile(r"[0-9A-Fa-f.:, ]{2,}")


def truncate_ips(data):
    """Parsed JSON with every string that is an IP address (or a list of them) truncated as
    truncate_ip does: what a provider's raw payload keeps of a client is its network, as the
    event's own ip column does, whatever the provider calls the field."""
    if isinstance(data, dict):
        return {key: truncate_ips(value) for key, value in data.items()}
    if isinstance(data, list):
        return [truncate_ips(value) for value in data]
    if isinstance(data, str) and _IP_LIKE.fullmatch(data):
        networks = [truncate_ip(part) for part in data.split(",")]
        if all(networks):
            return ", ".join(networks)  # type: ignore[arg-type]
    return data
