"""Per-recipient messages: the cheap pass a worker runs for every delivery.

A MessageBuilder is made once per campaign from the CompiledMessage: it encodes the fixed
headers once, splits each body at its placeholders and quoted-printable encodes the pieces
between them (binascii, in C). For a recipient it encodes only that recipient's values and
joins them with the encoded pieces, each value between two soft line breaks (RFC 2045 §6.7
rule 5: "=" at a line's end, removed by the decoder), so no line passes 76 characters
whatever the value's length; it writes an RFC 5322 message with CRLF line ends. The standard
library's email package would re-fold and re-encode everything per message, several times
slower; the tests parse what this writes with that package to prove it is well formed.
"""

from __future__ import annotations

import binascii
import html
import re
import secrets
import time
from dataclasses import dataclass
from email.header import Header
from email.utils import formataddr, formatdate
from urllib.parse import quote

from distribute.releases import words as email_words
from distribute.transport import dkim
from distribute.config import Settings
from distribute.releases.rendering import CompiledMessage, placeholder_pattern
from distribute.releases.links import OPEN_PIXEL, click_index
from distribute.signing import DELIVERY_HEADER, Tokens

# How each ESP carries our reference back in its webhook events (DISTRIBUTE_ESP): a header its
# SMTP relay reads and strips, turned into custom args, variables, metadata or a message tag.
_ESP_HEADERS = {
    "sendgrid": 'X-SMTPAPI: {"unique_args": {"distribute_delivery": "%s"}}\r\n',
    "mailgun": 'X-Mailgun-Variables: {"distribute_delivery": "%s"}\r\n',
    "postmark": "X-PM-Metadata-distribute_delivery: %s\r\n",
    "ses": "X-SES-MESSAGE-TAGS: distribute_delivery=%s\r\n",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_SPACE = re.compile(r"\s")
_URL_SAFE = re.compile(r"[A-Za-z0-9._~-]*")


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str | None = None
    outlet: str | None = None


def new_ref() -> str:
    """A delivery's public reference: random, so links reveal neither address nor sequence;
    24 hex characters, the same shape as the ones fan-out makes in SQL (fanout.RandomRef), and
    safe as a file name (a base64 one could start with "-")."""
    return secrets.token_hex(12)


def clean(value: str | None) -> str:
    """One line of text: CR, LF and other control characters can never start a new header."""
    return " ".join(_CONTROL.sub(" ", value or "").split())


def _header(name: str, value: str) -> str:
    """A header with its value RFC 2047-encoded when not ASCII, folded to 78 columns."""
    value = clean(value)
    encoded = Header(value, "utf-8" if not value.isascii() else "us-ascii", header_name=name).encode(linesep="\r\n")
    return f"{name}: {encoded}\r\n"


def _address(name: str | None, address: str) -> str:
    address = clean(address)
    if not address.isascii():  # an internationalised mailbox: only an SMTPUTF8 relay takes it
        return f"{Header(clean(name), 'utf-8').encode()} <{address}>" if name else f"<{address}>"
    return formataddr((clean(name), address), charset="utf-8")


def _split(template: str, marker: str) -> tuple[list[str], list[str]]:
    """'a M__X__DX b' -> (['a ', ' b'], ['x']): static pieces and the placeholder between each.
    Only the compile's own marker M makes a placeholder (see distribute.releases.rendering)."""
    pieces = placeholder_pattern(marker).split(template)
    return pieces[0::2], [name.lower() for name in pieces[1::2]]


_date: tuple[int, str] = (0, "")


def _date_now() -> str:
    """The Date header's value, written once a second: formatdate costs more than the rest of
    the headers together."""
    global _date
    second = int(time.time())
    if _date[0] != second:
        _date = (second, formatdate(second, usegmt=True))  # one tuple: a thread sees old or new, whole
    return _date[1]


def _qp(text: str) -> bytes:
    return binascii.b2a_qp(text.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")


_SOFT_BREAK = b"=\r\n"


def _encoded(split: tuple[list[str], list[str]]) -> tuple[list[bytes], list[str]]:
    """The static pieces, quoted-printable, each that a value follows ending on a soft break."""
    pieces, names = split
    encoded = [_qp(piece) for piece in pieces]
    for i in range(len(encoded) - 1):
        if not encoded[i].endswith(b"\n"):
            encoded[i] += _SOFT_BREAK
    return encoded, names


def _fill_encoded(encoded: tuple[list[bytes], list[str]], values: dict[str, str]) -> bytes:
    """The part's body for these values: only the values are encoded here."""
    pieces, names = encoded
    out = [pieces[0]]
    for name, piece in zip(names, pieces[1:]):
        value = values[name]
        if value:
            out.append(_qp(value))
            out.append(_SOFT_BREAK)
        out.append(piece)
    return b"".join(out)


class MessageBuilder:
    def __init__(self, compiled: CompiledMessage, settings: Settings, *, campaign_ref: str = "preview"):
        self.compiled = compiled
        self._base_url = settings.base_url
        self._tokens = Tokens(settings.secret)
        self._unsubscribe = self._tokens.unsubscribe
        self._campaign_ref = campaign_ref
        local, _, domain = settings.bounce_mailbox_address.partition("@")
        self._bounce_local, self._bounce_domain = local, domain
        self._domain = settings.sender_domain
        self._unsubscribe_mailbox = f"unsubscribe@{self._domain}"
        self._html = _split(compiled.html, compiled.marker)
        self._text = _split(compiled.text, compiled.marker)
        self._html_qp = _encoded(self._html)
        self._text_qp = _encoded(self._text)
        # Tracking placeholders, when the campaign's message has them: (name, link number).
        names = set(self._html[1]) | set(self._text[1])
        self._clicks = [(name, click_index(name)) for name in sorted(names) if click_index(name) is not None]
        self._tracked = OPEN_PIXEL in names
        self._boundary = f"=_distribute_{secrets.token_hex(12)}"
        self._words = email_words.words(compiled.language)
        list_id = f"{compiled.variant}.{campaign_ref}.{self._domain}"
        fixed = [
            f"From: {_address(settings.sender_name, settings.sender_address)}\r\n",
            _header("Subject", compiled.subject),
            "MIME-Version: 1.0\r\n",
            # RFC 2919: a phrase and a unique id per list; one list per campaign and variant.
            f"List-Id: {_address(f'{settings.organisation} {compiled.variant}s', list_id)}\r\n",
            # RFC 8058: the https link must accept a POST with this body, with no confirmation.
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
            f"Content-Language: {clean(compiled.language)}\r\n",
        ]
        if compiled.reply_to:
            fixed.append(f"Reply-To: {_address(compiled.reply_to_name, compiled.reply_to)}\r\n")
        self._esp_header = _ESP_HEADERS.get(settings.esp)
        self._fixed_headers = "".join(fixed)
        self._content_type = f'Content-Type: multipart/alternative; boundary="{self._boundary}"\r\n'
        self._dkim = dkim.signer_for(settings)

    def values(self, recipient: Recipient, ref: str, token: str | None = None) -> dict[str, str]:
        """The recipient's placeholder values, as plain text (`token`: the unsubscribe token, if
        the caller has made it already)."""
        name = clean(recipient.name)
        outlet = clean(recipient.outlet)
        who = f"{name} ({recipient.email})" if name else recipient.email
        words = self._words
        token = token or self._unsubscribe.sign(ref)
        return {
            "greeting": words["greeting"].format(name=name.split()[0]) if name else words["greeting_anonymous"],
            "recipient_line": words["sent_to_outlet" if outlet else "sent_to"].format(who=who, outlet=outlet),
            "unsubscribe_url": f"{self._base_url}/unsubscribe/{token}",
            # The preferences page takes the same signed token as the unsubscribe page.
            "preferences_url": f"{self._base_url}/preferences/{token}",
        } | self._tracking_values(ref)

    def _tracking_values(self, ref: str) -> dict[str, str]:
        values = {name: f"{self._base_url}/c/{self._tokens.click_token(ref, self._campaign_ref, n)}"
                  for name, n in self._clicks}
        if self._tracked:
            values[OPEN_PIXEL] = f"{self._base_url}/o/{self._tokens.open.sign(ref)}.gif"
        return values

    def return_path(self, ref: str) -> str:
        """The envelope sender (VERP): a bounce to it names this delivery, signed, so a forged
        or stray bounce matches nothing."""
        token = self._tokens.verp(ref)
        local = f"{self._bounce_local}+{token}" if token else self._bounce_local
        return f"{local}@{self._bounce_domain}"

    def unsubscribe_url(self, ref: str) -> str:
        return f"{self._base_url}/unsubscribe/{self._unsubscribe.sign(ref)}"

    def personalise(self, recipient: Recipient, ref: str, token: str | None = None) -> tuple[str, str]:
        """(text, html) for one recipient."""
        values = self.values(recipient, ref, token)
        escaped = {key: html.escape(value) for key, value in values.items()}
        return _fill(self._text, values), _fill(self._html, escaped)

    def build(self, recipient: Recipient, ref: str) -> bytes:
        """The whole message, ready for SMTP (CRLF line ends, 7-bit clean)."""
        if "@" not in recipient.email or _SPACE.search(recipient.email):
            raise ValueError(f"{recipient.email!r} is not an email address")
        token = self._unsubscribe.sign(ref)
        values = self.values(recipient, ref, token)
        text = _fill_encoded(self._text_qp, values)
        html_body = _fill_encoded(self._html_qp, {key: html.escape(value) for key, value in values.items()})
        # A token is URL-safe (a hex or base64url reference, ".", base64url): only the space needs quoting.
        subject = f"unsubscribe%20{token}" if _URL_SAFE.fullmatch(token) else quote("unsubscribe " + token)
        mailto = f"mailto:{self._unsubscribe_mailbox}?subject={subject}"
        head = (
            f"To: {_address(recipient.name, recipient.email)}\r\n"
            f"{self._fixed_headers}"
            f"Date: {_date_now()}\r\n"
            f"Message-ID: <{ref}@{self._domain}>\r\n"
            f"List-Unsubscribe: <{mailto}>,\r\n <{self._base_url}/unsubscribe/{token}>\r\n"
            f"{DELIVERY_HEADER}: {ref}\r\n"
            f"{self._esp_header % ref if self._esp_header else ''}"
            f"{self._content_type}"
            "\r\n"
        )
        boundary = self._boundary.encode()
        part = b'Content-Type: text/%s; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
        message = b"".join((
            head.encode("utf-8"),
            b"--", boundary, b"\r\n", part % b"plain", text, b"\r\n",
            b"--", boundary, b"\r\n", part % b"html", html_body, b"\r\n",
            b"--", boundary, b"--\r\n",
        ))
        # Signed last, over the bytes that go out: To and the links differ for every recipient.
        return self._dkim.sign(message) if self._dkim else message


def _fill(split: tuple[list[str], list[str]], values: dict[str, str]) -> str:
    pieces, names = split
    out = [pieces[0]]
    for name, piece in zip(names, pieces[1:]):
        out.append(values[name])
        out.append(piece)
    return "".join(out)
