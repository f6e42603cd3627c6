"""DISTRIBUTE_SMTP_URL read into an SMTPConfig. It imports no settings, so that the settings'
own validator can use it to refuse a bad URL at start."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from distribute.errors import UserError

URL_VARIABLE = "DISTRIBUTE_SMTP_URL"


@dataclass(frozen=True)
class SMTPConfig:
    scheme: str  # "smtp" or "smtps" (implicit TLS, RFC 8314)
    host: str
    port: int
    username: str | None
    password: str | None
    starttls: bool
    verify: bool
    timeout: float

    @property
    def redacted(self) -> str:
        user = f"{self.username}:***@" if self.username else ""
        query = "?starttls=true" if self.starttls else ""
        return f"{self.scheme}://{user}{self.host}:{self.port}{query}"


_DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def parse_smtp_url(url: str, *, timeout: float = 30.0) -> SMTPConfig:
    """smtp://user:pass@host:587?starttls=true, smtps://host:465, smtp://host:25.

    Query parameters: starttls, verify (true|false), timeout (seconds; overrides `timeout`).
    Raises UserError naming DISTRIBUTE_SMTP_URL; the password never appears in a message.
    """

    def bad(why: str) -> UserError:
        return UserError(f"{URL_VARIABLE}: {why} (expected e.g. smtp://user:password@host:587?starttls=true)")

    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        raise bad(f"not a URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise bad(f"unknown scheme {scheme + '://' if scheme else '(none)'}; use smtp:// or smtps://")
    host = parts.hostname
    if not host:
        raise bad("no host")
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:
        raw = parts.netloc.rpartition("@")[2].rpartition(":")[2]
        raise bad(f"bad port {raw!r}: a number from 1 to 65535") from None
    if parts.path not in ("", "/"):
        raise bad(f"unexpected path {parts.path!r}")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and not username:
        raise bad("a password without a user name")

    starttls, verify = False, True
    try:
        params = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise bad(f"cannot read the query {parts.query!r}") from None
    for name, value in params:
        key, value = name.lower(), value.strip().lower()
        if key in ("starttls", "verify"):
            if value not in _TRUE | _FALSE:
                raise bad(f"{key}={value!r}: use true or false")
            if key == "starttls":
                starttls = value in _TRUE
            else:
                verify = value in _TRUE
        elif key == "timeout":
            try:
                timeout = float(value)
            except ValueError:
                raise bad(f"timeout={value!r}: a number of seconds") from None
            if not 0 < timeout <= 3600:
                raise bad(f"timeout={value!r}: between 0 and 3600 seconds")
        else:
            raise bad(f"unknown parameter {name!r}; known: starttls, verify, timeout")
    if scheme == "smtps" and starttls:
        raise bad("smtps:// is already TLS; starttls=true is for smtp://")
    return SMTPConfig(scheme, host, port, username, password, starttls, verify, timeout)
