"""Compile a release into a message template, once per variant (and per campaign).

Jinja2 (autoescaped, StrictUndefined) → premailer (CSS inlined, no network) → HTML; the text
part comes from the same release fields through a text template. What differs per recipient
is left as placeholders (see distribute.sending.message) that survive premailer: they are plain
letters, digits and underscores, which neither HTML serialisation nor URL quoting changes.

Each compile writes its placeholders with a marker of its own, drawn at random when the
release text is already fixed: release text cannot contain it, so nothing a release says
(a title, a body, a contact, a boilerplate) can ever be taken for a placeholder.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
import string
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from premailer import Premailer

from distribute.releases import words as email_words
from distribute.config import Settings
from distribute.releases.content import body_html, body_text, _wrap
from distribute.errors import UserError
from distribute.releases.contacts import tel_link
from distribute.models import Release
from distribute.paths import TEMPLATES_DIR

VARIANTS = ("journalist", "supporter")

# Per-recipient values, written into the compiled message as MARKER__NAME__DX; tracking adds
# CLICK_A … and OPEN_URL.
PLACEHOLDERS = ("greeting", "recipient_line", "unsubscribe_url", "preferences_url")
# The marker of messages compiled before markers were drawn per compile (a campaign stored then).
LEGACY_MARKER = "DX"


def new_marker() -> str:
    # 94 random bits, never guessed; lowercase letters, so no number in a message can be part of it.
    return "DX" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(20))


def placeholder(name: str, marker: str) -> str:
    return f"{marker}__{name.upper()}__DX"


@lru_cache(maxsize=64)
def placeholder_pattern(marker: str) -> re.Pattern[str]:
    """Matches this marker's placeholders; group 1 is the NAME."""
    return re.compile(re.escape(marker) + r"__([A-Z_]+)__DX")


@dataclass(frozen=True)
class CompiledMessage:
    """Everything a worker needs to build any recipient's message, without the database."""

    release_id: int
    variant: str
    language: str
    subject: str
    html: str
    text: str
    reply_to: str | None  # the first media contact's address
    reply_to_name: str | None
    links: tuple[str, ...] = ()  # the links tracking rewrote, in placeholder order (CLICK_A, CLICK_B …)
    marker: str = LEGACY_MARKER  # what this message's placeholders start with

    def placeholder(self, name: str) -> str:
        return placeholder(name, self.marker)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CompiledMessage":
        return cls(**data | {"links": tuple(data.get("links", ()))})


@lru_cache(maxsize=4)
def environment(templates_dir: str = str(TEMPLATES_DIR)) -> Environment:
    return Environment(
        loader=FileSystemLoader(templates_dir),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def embargo_line(release: Release, settings: Settings, now: dt.datetime) -> str | None:
    if not release.embargo_until or release.embargo_until <= now:
        return None
    local = release.embargo_until.astimezone(settings.zone)
    text = email_words.words(release.language)["embargoed_until"].format(
        time=f"{local:%H:%M}", zone=local.tzname(), date=email_words.full_date(local.date(), release.language))
    if settings.timezone != "UTC":
        text += f" ({release.embargo_until:%H:%M} UTC)"
    return text


def subject_for(release: Release, variant: str, embargoed: bool) -> str:
    title = " ".join(release.title.split())
    if embargoed and variant == "journalist":
        return f"{email_words.words(release.language)['embargoed_subject']}: {title}"
    return title


def dateline_for(release: Release) -> str | None:
    """The dateline as shown: place, date in the release's language, dash ("PARIS, 5 décembre 2026 –")."""
    return email_words.dateline(release.dateline, release.release_date, release.dateline_dash, release.language)


def contacts_for(release: Release) -> list[dict[str, Any]]:
    """The media contacts as the templates show them: a line with name, job title and
    organisation; the address; each phone as written with its tel: link."""
    shown = []
    for contact in release.contacts or []:
        contact = {key: contact.get(key) for key in ("name", "title", "organisation", "email")} | {
            "phones": [{"text": phone, "tel": tel_link(phone)} for phone in contact.get("phones") or []]}
        contact["line"] = email_words.comma(release.language).join(
            v for v in (contact["name"], contact["title"], contact["organisation"]) if v)
        shown.append(contact)
    return shown


def inline_css(html: str) -> str:
    return Premailer(
        html,
        allow_network=False,  # a <link> to remote CSS is never fetched while rendering
        allow_loading_external_files=False,
        disable_validation=True,
        strip_important=False,
        cssutils_logging_level=logging.CRITICAL,
    ).transform(pretty_print=False)


def compile_release(release: Release, variant: str, settings: Settings, now: dt.datetime | None = None) -> CompiledMessage:
    if variant not in VARIANTS:
        raise UserError(f"unknown variant {variant!r}: choose {' or '.join(VARIANTS)}")
    now = now or dt.datetime.now(dt.UTC)
    marker = new_marker()
    embargo = embargo_line(release, settings, now) if variant == "journalist" else None
    subject = subject_for(release, variant, embargo is not None)
    words = email_words.words(release.language)
    contacts = contacts_for(release)
    reply = next((c for c in contacts if c["email"]), None)
    dateline = dateline_for(release)
    context = {
        "release": release,
        "subject": subject,
        "organisation": settings.organisation,
        "postal_address": settings.postal_address,
        "web_url": f"{settings.base_url}/releases/{release.slug}",
        "embargo_line": embargo,
        "contacts": contacts,
        "notes": release.notes or [],
        "about_heading": release.boilerplate_heading or words["about"].format(organisation=settings.organisation),
        "w": words,
        "dir": email_words.direction(release.language),
        "because": words[f"because_{variant}"].format(organisation=settings.organisation),
        "preheader": release.subtitle or _first_sentence(release.body),
        "p": {name: placeholder(name, marker) for name in PLACEHOLDERS},
    }
    env = environment()
    html = env.get_template(f"email/{variant}.html").render(
        body=body_html(release.body, release.source_format, dateline), **context
    )
    text = env.get_template(f"email/{variant}.txt").render(
        body_text=body_text(release.body, release.source_format, dateline),
        boilerplate_text=_wrap(" ".join((release.boilerplate or "").split())),
        notes_text=[_wrap(note, f"{n}. ", " " * (len(str(n)) + 2)) for n, note in enumerate(release.notes or [], start=1)],
        **context,
    )
    return CompiledMessage(
        release_id=release.id,
        variant=variant,
        language=release.language,
        subject=subject,
        html=inline_css(html),
        text=re.sub(r"\n{3,}", "\n\n", text).strip() + "\n",
        reply_to=reply["email"] if reply else None,
        reply_to_name=reply["name"] if reply else None,
        marker=marker,
    )


def _first_sentence(body: str) -> str:
    plain = re.sub(r"[*_`#>\[\]]|\(https?://[^)]*\)", "", " ".join(body.split()))
    match = re.match(r"(.{20,200}?[.!?])\s", plain + " ")
    return match.group(1) if match else plain[:150]
