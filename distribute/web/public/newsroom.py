"""The newsroom: published releases as a page and as an Atom feed (RFC 4287) journalists
subscribe to. Each entry links the release's web version (pages.py)."""

from __future__ import annotations

import datetime as dt
from xml.etree import ElementTree as ET

from flask import Blueprint, render_template

from distribute.models import utcnow
from distribute.services import newsroom
from distribute.web.public.state import state

blueprint = Blueprint("newsroom", __name__)
ATOM = "http://www.w3.org/2005/Atom"
FEED_ENTRIES = 30


@blueprint.get("/newsroom")
def index():
    web = state()
    with web.sessions() as session:
        releases = newsroom.published(session, utcnow())
    settings = web.settings
    return render_template("web/newsroom.html", releases=releases, organisation=settings.organisation,
                           postal_address=settings.postal_address, feed=f"{settings.base_url}/newsroom.atom")


@blueprint.get("/newsroom.atom")
def feed():
    web = state()
    with web.sessions() as session:
        releases = newsroom.published(session, utcnow(), limit=FEED_ENTRIES, content=True)
    body = atom(releases, web.settings.base_url, web.settings.organisation)
    return body, 200, {"Content-Type": "application/atom+xml; charset=utf-8", "Cache-Control": "public, max-age=300"}


def _time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    element.text = text
    return element


def atom(releases: list[dict], base_url: str, organisation: str) -> bytes:
    """The feed document. Entry ids are the web versions' URLs: permanent, one per release."""
    ET.register_namespace("", ATOM)
    root = ET.Element(f"{{{ATOM}}}feed")
    _add(root, "id", f"{base_url}/newsroom")
    _add(root, "title", f"{organisation}: press releases")
    # An empty feed still needs an <updated>: the epoch says "nothing yet" without inventing a time.
    _add(root, "updated", _time(releases[0]["published_at"]) if releases else "1970-01-01T00:00:00Z")
    _add(root, "link", rel="self", type="application/atom+xml", href=f"{base_url}/newsroom.atom")
    _add(root, "link", rel="alternate", type="text/html", href=f"{base_url}/newsroom")
    _add(_add(root, "author"), "name", organisation)
    for release in releases:
        url = f"{base_url}/releases/{release['slug']}"
        entry = _add(root, "entry")
        entry.set("{http://www.w3.org/XML/1998/namespace}lang", release["language"])
        _add(entry, "id", url)
        _add(entry, "title", release["title"])
        _add(entry, "link", rel="alternate", type="text/html", href=url)
        _add(entry, "published", _time(release["published_at"]))
        _add(entry, "updated", _time(release["published_at"]))
        if release["subtitle"]:
            _add(entry, "summary", release["subtitle"])
        _add(entry, "content", release["content_html"], type="html")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
