"""A stored release written back as a Markdown file, for the editor: read again, it gives the same
release (the same content hash), so opening and saving without a change stores nothing.

The stored release keeps what was understood, not the file it came from; this writes the fields
as front matter and the body under it. A dateline with its dash goes back at the head of the
body (the front matter has no key for the dash); the end mark closes the body. A release read
from plain text comes back as Markdown: its body is already paragraphs and "- item" lists."""

from __future__ import annotations

import datetime as dt
from typing import Any

import yaml

from distribute.models import Release


def _contact(contact: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in contact.items() if value not in (None, "", [])}


def front_matter(release: Release) -> dict[str, Any]:
    fields: dict[str, Any] = {"title": release.title, "subtitle": release.subtitle, "label": release.label}
    if release.dateline and not release.dateline_dash:
        fields["dateline"] = release.dateline
    fields["date"] = release.release_date.isoformat() if release.release_date else None
    if release.embargo_until:
        fields["embargo"] = f"{release.embargo_until.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
    fields["language"] = release.language
    fields["contacts"] = [_contact(c) for c in release.contacts or []]
    if release.cta_url:
        fields["call_to_action"] = {"label": release.cta_label, "url": release.cta_url}
    fields["boilerplate_heading"] = release.boilerplate_heading
    fields["boilerplate"] = release.boilerplate
    fields["notes"] = list(release.notes or [])
    return {key: value for key, value in fields.items() if value not in (None, "", [])}


def editable_text(release: Release) -> str:
    head = yaml.safe_dump(front_matter(release), allow_unicode=True, sort_keys=False, width=100)
    body = release.body.strip()
    if release.dateline and release.dateline_dash:
        body = f"{release.dateline} {release.dateline_dash} {body}"
    if release.end_mark:
        body += f"\n\n{release.end_mark}"
    return f"---\n{head}---\n{body}\n"
