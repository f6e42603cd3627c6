"""The hot endpoints: the open pixel and the click redirect. Neither waits on the database for
a write (see distribute.web.public.buffer); the redirect reads only its campaign's link list, cached."""

from __future__ import annotations

import base64

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


def _client_ip() -> str | None:
    # Behind DISTRIBUTE_PROXY_HOPS trusted proxies, werkzeug's ProxyFix (see create_app) has put
    # the client's address from X-Forwarded-For here; with none, it is the socket's peer.
    return request.remote_addr


@blueprint.get("/o/<token>.gif")
def pixel(token: str):
    web = state()
    ref = web.tokens.open.unsign(token)
    if ref is not None:
        web.events.put(Signal(type="opened", source="pixel", ref=ref, at=utcnow(),
                              user_agent=request.headers.get("User-Agent"), ip=_client_ip()))
    return PIXEL, 200, {"Content-Type": "image/gif", "Cache-Control": "no-store, no-cache, must-revalidate, private"}


@blueprint.route("/c/<token>", methods=["GET", "HEAD"])
def click(token: str):
    web = state()
    parsed = web.tokens.read_click(token)
    if parsed is None:
        abort(404)
    ref, campaign_ref, n = parsed
    links = _links(web, campaign_ref)
    if links is None or not 0 <= n < len(links) or not trackable(links[n]):
        abort(404)
    url = links[n]
    response = redirect(url, code=302)  # made first: a click is counted only if it is answered
    response.autocorrect_location_header = False
    if request.method == "GET":  # a HEAD is a link checker's, not a click
        web.events.put(Signal(type="clicked", source="link", ref=ref, at=utcnow(), data={"url": url, "link": n},
                              user_agent=request.headers.get("User-Agent"), ip=_client_ip()))
    return response


def _links(web, campaign_ref: str) -> tuple[str, ...] | None:
    links = web.links.get(campaign_ref)
    if links is None:
        with web.sessions() as session:
            compiled = session.scalar(select(Campaign.compiled).where(Campaign.ref == campaign_ref))
        if not compiled:
            return None
        links = tuple(compiled.get("links", ()))
        web.links[campaign_ref] = links
    return links
