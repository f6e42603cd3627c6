"""The hot endpoints: the open pixel and the click redirect. Neither waits on the database for
a write (see distribute.web.public.buffer); the redirect reads only its campaign's link list, cached.
Most requests are answered by distribute.web.public.hot_paths, before Flask, with the functions
below; these views answer the rest (a HEAD, a bad token, a campaign's first click)."""

from __future__ import annotations

import base64
from typing import NamedTuple

from flask import Blueprint, abort, redirect, request
from sqlalchemy import select

from distribute.feedback.events import Signal
from distribute.models import Campaign, utcnow
from distribute.releases.links import trackable
from distribute.web.public.state import state

blueprint = Blueprint("tracking", __name__)

# The smallest transparent GIF; the pixel always answers with it, whatever the token, so a bad
# token learns nothing and a mail client never shows a broken image.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
PIXEL_CACHE_CONTROL = "no-store, no-cache, must-revalidate, private"


class Target(NamedTuple):
    ref: str
    n: int
    url: str


def record_open(web, token: str, user_agent: str | None, ip: str | None) -> None:
    ref = web.tokens.open.unsign(token)
    if ref is not None:
        web.events.put(Signal(type="opened", source="pixel", ref=ref, at=utcnow(), user_agent=user_agent, ip=ip))


def click_target(web, token: str, *, load: bool = True) -> Target | None:
    """Where a click token leads, or None: a bad token, a link that is not the campaign's, or (with
    load=False) a campaign whose links are not cached yet."""
    parsed = web.tokens.read_click(token)
    if parsed is None:
        return None
    ref, campaign_ref, n = parsed
    links = web.links.get(campaign_ref)
    if links is None and load:
        links = _load_links(web, campaign_ref)
    if links is None or not 0 <= n < len(links) or not trackable(links[n]):
        return None
    return Target(ref, n, links[n])


def record_click(web, target: Target, user_agent: str | None, ip: str | None) -> None:
    web.events.put(Signal(type="clicked", source="link", ref=target.ref, at=utcnow(),
                          data={"url": target.url, "link": target.n}, user_agent=user_agent, ip=ip))


def _client_ip() -> str | None:
    # Behind DISTRIBUTE_PROXY_HOPS trusted proxies, werkzeug's ProxyFix (see create_app) has put
    # the client's address from X-Forwarded-For here; with none, it is the socket's peer.
    return request.remote_addr


@blueprint.get("/o/<token>.gif")
def pixel(token: str):
    record_open(state(), token, request.headers.get("User-Agent"), _client_ip())
    return PIXEL, 200, {"Content-Type": "image/gif", "Cache-Control": PIXEL_CACHE_CONTROL}


@blueprint.route("/c/<token>", methods=["GET", "HEAD"])
def click(token: str):
    web = state()
    target = click_target(web, token)
    if target is None:
        abort(404)
    response = redirect(target.url, code=302)  # made first: a click is counted only if it is answered
    response.autocorrect_location_header = False
    if request.method == "GET":  # a HEAD is a link checker's, not a click
        record_click(web, target, request.headers.get("User-Agent"), _client_ip())
    return response


def _load_links(web, campaign_ref: str) -> tuple[str, ...] | None:
    with web.sessions() as session:
        compiled = session.scalar(select(Campaign.compiled).where(Campaign.ref == campaign_ref))
    if not compiled:
        return None
    links = tuple(compiled.get("links", ()))
    web.links[campaign_ref] = links
    return links
