"""Pre-flight checks a comms person runs before sending: each finding has a severity and the
variant it concerns (None: both), and an error in a variant means "do not send that variant yet".

What each variant needs is judged alike: a journalist send needs a media contact as a supporter
send needs a call to action; both are errors, and `send` refuses both
(distribute.sending.campaigns.create_campaign)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

import lxml.html

from distribute.releases import words as email_words
from distribute.config import Settings
from distribute.sending.message import MessageBuilder, Recipient
from distribute.models import Release
from distribute.releases.dates import looks_like_date
from distribute.releases.lines import header
from distribute.releases.rendering import VARIANTS, compile_release

GMAIL_CLIP_BYTES = 102 * 1024  # Gmail hides everything past 102 KB behind "[Message clipped]"
SUBJECT_WARN = 100

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Finding:
    severity: str
    code: str
    message: str
    variant: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def missing_for(release: Release, variant: str) -> str | None:
    """What a variant cannot be sent without, said the same way for both; None when nothing is."""
    if variant == "journalist" and not release.contacts:
        return "the journalist variant has no media contact: add one (a 'Media contact:' block, or media_contact in the front matter)"
    if variant == "supporter" and not release.cta_url:
        return ("the supporter variant has no call to action: add one (a 'Take action: LABEL – https://…' line, "
                "or call_to_action in the front matter)")
    return None


def check_release(release: Release, settings: Settings, now: dt.datetime | None = None,
                  variants: tuple[str, ...] = VARIANTS) -> list[Finding]:
    """Findings for the variants asked for (and those that concern both)."""
    now = now or dt.datetime.now(dt.UTC)
    findings: list[Finding] = []
    add = lambda severity, code, message, variant=None: findings.append(Finding(severity, code, message, variant))  # noqa: E731

    if not release.dateline:
        add(WARNING, "no-dateline", "no dateline: journalists expect the release to open with 'City, ST – '")
    if not release.release_date:
        add(WARNING, "no-release-date", "no release date found: write it in the dateline ('Paris, 5 December 2026 –'), "
            "on a line of its own, or as date: in the front matter")
    title = " ".join(release.title.split())
    if (found := header(title)) is not None and found.kind in ("label", "immediate", "embargo"):
        add(WARNING, "title-is-label", f"the title {title!r} looks like a header label, not a headline: "
            "put the headline on its own line under the label, or give the title apart")
    elif looks_like_date(title):
        add(WARNING, "title-is-date", f"the title {title!r} looks like a date, not a headline: give the title apart")
    if len(release.title) > SUBJECT_WARN:
        add(WARNING, "long-subject", f"the title is {len(release.title)} characters: phones show about 40 of a subject line")
    if not email_words.has_words(release.language):
        add(WARNING, "language-words", f"the email's fixed words are not written in {release.language!r}: they will be in "
            "English (languages with them: " + ", ".join(email_words.WORDS) + ")")
    for variant in variants:
        if missing := missing_for(release, variant):
            add(ERROR, f"no-{'media-contact' if variant == 'journalist' else 'call-to-action'}", missing, variant)
    if "journalist" in variants:
        for contact in release.contacts or []:
            if not contact.get("email") and not contact.get("phones"):
                add(WARNING, "partial-contact", f"the media contact {contact.get('name') or contact.get('organisation')!r} "
                    "has no email address or phone number", "journalist")
        if release.contacts and not any(c.get("email") for c in release.contacts):
            add(WARNING, "no-contact-email", "no media contact has an email address: Reply-To will be the sender", "journalist")
        if release.embargo_until and release.embargo_until <= now:
            add(WARNING, "embargo-past", f"the embargo time {release.embargo_until:%Y-%m-%d %H:%M} UTC is in the past: "
                "the release will go out as FOR IMMEDIATE RELEASE", "journalist")

    sample = Recipient("preview@example.org", "Preview Recipient", "Example Outlet")
    for variant in variants:
        compiled = compile_release(release, variant, settings, now=now)
        _, html = MessageBuilder(compiled, settings).personalise(sample, "preview-reference")
        size = len(html.encode("utf-8"))
        if size > GMAIL_CLIP_BYTES:
            add(ERROR, "html-too-large", f"the HTML is {size / 1024:.1f} KB; Gmail clips messages over 102 KB", variant)
        elif size > GMAIL_CLIP_BYTES * 0.8:
            add(WARNING, "html-large", f"the HTML is {size / 1024:.1f} KB, close to Gmail's 102 KB clipping limit", variant)
        findings += _check_html(html, variant)
    return _dedupe(findings)


def _check_html(html: str, variant: str) -> list[Finding]:
    findings = []
    doc = lxml.html.document_fromstring(html)
    for img in doc.iter("img"):
        alt = img.get("alt")
        if alt is None or not alt.strip():
            # Markdown always writes alt="", so an empty one is as likely forgotten as decorative.
            severity = ERROR if alt is None else WARNING
            findings.append(Finding(severity, "image-no-alt", f"image {img.get('src', '?')!r} has no alt text (many clients block images)", variant))
        src = img.get("src", "")
        if not src.startswith(("https://", "http://", "cid:")):
            findings.append(Finding(ERROR, "image-bad-src", f"image {src!r} is not an http(s) address: recipients cannot load it", variant))
    for link in doc.iter("a"):
        href = (link.get("href") or "").strip()
        scheme = urlsplit(href).scheme.lower()
        if scheme in ("mailto", "tel"):
            continue
        if scheme not in ("http", "https") or not urlsplit(href).netloc:
            text = " ".join(link.text_content().split())[:60]
            findings.append(Finding(ERROR, "bad-link", f"link {text!r} points to {href!r}, which is not an http(s) address", variant))
    if doc.xpath("//script") or doc.xpath("//link[@rel='stylesheet']"):
        findings.append(Finding(ERROR, "active-content", "the HTML has a script or an external stylesheet", variant))
    return findings


def _dedupe(findings: list[Finding]) -> list[Finding]:
    """A problem in the release body shows in both variants: report it once, for both."""
    seen: dict[tuple[str, str], Finding] = {}
    for f in findings:
        key = (f.code, f.message)
        if key in seen and seen[key].variant != f.variant:
            seen[key] = Finding(f.severity, f.code, f.message, None)
        else:
            seen.setdefault(key, f)
    return sorted(seen.values(), key=lambda f: (f.severity != ERROR, f.code, f.variant or ""))
