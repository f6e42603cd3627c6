"""What the sending domain still lacks for receivers to trust its mail, told without the network.

Receivers (Gmail and Yahoo require it of bulk senders) pass DMARC (RFC 7489) when SPF or DKIM
passes for a domain aligned with the From domain: the DKIM d= domain, or the envelope sender's
(the VERP bounce address's) domain for SPF. DMARC's default alignment is relaxed: the same
organisational domain. Without the public suffix list that is told here as "the same domain or
one under the other"; two sibling subdomains are named as a doubt, not an error.

RFC 8058 one-click unsubscribe needs an https List-Unsubscribe URI and a DKIM signature that
covers List-Unsubscribe and List-Unsubscribe-Post: a sample message is signed and verified here
against the record it should be published as, so what is said is what a receiver would see.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

import dkim as dkimpy

from distribute.transport import dkim
from distribute.config import Settings
from distribute.sending.message import MessageBuilder, Recipient
from distribute.releases.rendering import CompiledMessage

OK, WARNING, ERROR = "ok", "warning", "error"
# The SPF mechanism that names each ESP's sending hosts (each ESP's own setup guide).
ESP_SPF = {"ses": "include:amazonses.com", "sendgrid": "include:sendgrid.net", "mailgun": "include:mailgun.org",
           "postmark": "include:spf.mtasv.net"}
ONE_CLICK = {b"list-unsubscribe", b"list-unsubscribe-post"}


@dataclass(frozen=True)
class Finding:
    severity: str
    code: str
    message: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Report:
    findings: list[Finding]
    records: list[str]  # zone-file lines to publish (SPF and DMARC as suggestions to adapt)

    @property
    def ok(self) -> bool:
        return not any(f.severity == ERROR for f in self.findings)


def alignment(a: str, b: str) -> str:
    """'same', 'relaxed' (one under the other), 'sibling' (a shared parent) or 'none'."""
    if a == b:
        return "same"
    if a.endswith("." + b) or b.endswith("." + a):
        return "relaxed"
    return "sibling" if a.split(".")[-2:] == b.split(".")[-2:] else "none"


def check_domain(settings: Settings) -> Report:
    findings: list[Finding] = []
    add = lambda severity, code, message: findings.append(Finding(severity, code, message))  # noqa: E731
    from_domain = _domain(settings.sender_domain)
    records = []

    signer = dkim.signer_for(settings)
    if signer is None:
        add(ERROR, "dkim-none", "messages are not DKIM-signed: make a key with `distribute dkim keygen --selector S`, "
            "publish the record it prints, then set DISTRIBUTE_DKIM_SELECTOR and DISTRIBUTE_DKIM_PRIVATE_KEY_FILE")
    else:
        key = signer.key
        add(OK, "dkim-key", f"signing as d={signer.domain}, s={signer.selector} ({key.kind}, {key.bits} bits)")
        records.append(dkim.dns_record(key, signer.selector, signer.domain))
        if key.kind == "rsa" and key.bits < dkim.DEFAULT_RSA_BITS:
            add(WARNING, "dkim-short-key", f"the RSA key has {key.bits} bits: RFC 8301 asks for 2048; make a new one "
                "under a new selector")
        if key.kind == "ed25519":
            add(WARNING, "dkim-ed25519", "not every receiver verifies Ed25519 signatures yet (RFC 8463); one that does not "
                "sees the message as unsigned: an RSA key is the safe choice")
        findings += _aligned("DKIM", "the DKIM domain (d=)", signer.domain, from_domain, ERROR)
        findings += _sample_signature(settings, signer)
        if unsigned := dkim.UNSIGNED_BY_ESP.get(settings.esp):
            add(OK, "dkim-esp", f"headers left unsigned because DISTRIBUTE_ESP={settings.esp} replaces them: "
                + ", ".join(sorted(unsigned)))

    bounce_domain = _domain(settings.bounce_mailbox_address.rpartition("@")[2])
    # DMARC passes when either SPF or DKIM passes aligned: a bounce domain out of line is an error
    # only when DKIM does not align either.
    dkim_aligns = signer is not None and alignment(signer.domain, from_domain) != "none"
    findings += _aligned("SPF", "the bounce (envelope sender) domain", bounce_domain, from_domain,
                         WARNING if dkim_aligns else ERROR)
    findings += _unsubscribe_url(settings)

    host = urlsplit(settings.smtp_url).hostname if settings.smtp_url else None
    senders = ESP_SPF.get(settings.esp) or (f"a:{host}" if host and host not in ("localhost", "127.0.0.1") else "mx")
    records.append(f'{bounce_domain}. IN TXT "v=spf1 {senders} ~all"')
    records.append(f'_dmarc.{from_domain}. IN TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@{from_domain}"')
    return Report(findings, records)


def _domain(name: str) -> str:
    try:
        return dkim.dns_name(name, "domain")
    except ValueError:  # not a DNS name: compared as written, so the findings still say what they can
        return name.lower()


def _aligned(method: str, what: str, domain: str, from_domain: str, severity: str) -> list[Finding]:
    kind = alignment(domain, from_domain)
    code = f"{method.lower()}-alignment"
    if kind == "same":
        return [Finding(OK, code, f"{what} is the From domain {from_domain}: aligned for DMARC ({method})")]
    if kind == "relaxed":
        return [Finding(OK, code, f"{what} {domain} and the From domain {from_domain} are aligned for DMARC's "
                        f"default relaxed mode ({method}), not for a strict one ({'adkim' if method == 'DKIM' else 'aspf'}=s)")]
    if kind == "sibling":
        return [Finding(WARNING, code, f"{what} {domain} and the From domain {from_domain} align for DMARC ({method}) "
                        "only if their shared parent is the organisation's domain, not a public suffix such as co.uk")]
    return [Finding(severity, code, f"{what} {domain} is not aligned with the From domain {from_domain}: "
                    f"{method} cannot pass DMARC for it")]


def _sample_signature(settings: Settings, signer: dkim.DkimSigner) -> list[Finding]:
    """Sign a message as a worker would and verify it against the record to publish."""
    sample = CompiledMessage(release_id=0, variant="journalist", language="en", subject="DKIM check",
                             html="<html><body><p>check</p></body></html>", text="check",
                             reply_to=f"press@{settings.sender_domain}", reply_to_name=None)
    # A throwaway link key: the check must not create the embedded secret file as a side effect.
    builder = MessageBuilder(sample, settings.model_copy(update={"secret_key": "dkim-check"}))
    message = builder.build(Recipient("reader@example.net", "Reader"), "dkim-check")
    name = dkim.record_name(signer.selector, signer.domain).encode()
    txt = signer.key.txt_value().encode()
    verifier = dkimpy.DKIM(message)
    if not verifier.verify(dnsfunc=lambda query, timeout=5: txt if query == name else None):
        return [Finding(ERROR, "dkim-verify", "a sample message does not verify against the key's own record")]
    if missing := ONE_CLICK - set(verifier.include_headers):
        return [Finding(ERROR, "dkim-one-click", f"the signature does not cover {b', '.join(sorted(missing)).decode()}: "
                        "RFC 8058 one-click unsubscribe needs both")]
    return [Finding(OK, "dkim-one-click", "a sample message verifies, List-Unsubscribe and List-Unsubscribe-Post signed")]


def _unsubscribe_url(settings: Settings) -> list[Finding]:
    url = urlsplit(settings.base_url)
    if url.scheme != "https":
        return [Finding(ERROR, "unsubscribe-http", f"DISTRIBUTE_BASE_URL is {url.scheme}://: RFC 8058 one-click "
                        "unsubscribe needs an https List-Unsubscribe link")]
    if url.hostname in ("localhost", "127.0.0.1", "::1") or (url.hostname or "").endswith(".localhost"):
        return [Finding(ERROR, "unsubscribe-local", f"DISTRIBUTE_BASE_URL points to {url.hostname}: "
                        "recipients cannot reach its unsubscribe and web links")]
    return []
