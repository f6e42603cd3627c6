"""The pages a person sees: unsubscribe, preferences, and the web version of a release.

Unsubscribing is written before the page answers, in the same way for the RFC 8058 one-click
POST that mail clients send and for the button on the page: the sender checks the suppression
list just before each message, so it takes effect before the next message of any campaign.
A GET never changes anything, because link scanners follow every link in a message.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from distribute.releases import words as email_words
from distribute.releases.content import body_html
from distribute.feedback.events import Signal, find_delivery, record
from distribute.models import utcnow
from distribute.releases.rendering import contacts_for, dateline_for
from distribute.services import preferences as preferences_service
from distribute.services import releases
from distribute.web.public.state import state

blueprint = Blueprint("pages", __name__)


def _render(name: str, status: int = 200, **context):
    settings = state().settings
    return render_template(f"web/{name}", organisation=settings.organisation,
                           postal_address=settings.postal_address, **context), status


def _delivery_for(session, token: str):
    ref = state().tokens.unsubscribe.unsign(token)
    delivery = find_delivery(session, ref=ref) if ref else None
    if delivery is None:
        abort(404)
    return delivery


def _unsubscribe(session, delivery, source: str) -> None:
    # One unsubscribe per delivery: the one-click POST and the button both count once.
    record(session, Signal(type="unsubscribed", source=source, delivery_id=delivery.id, at=utcnow(),
                           dedupe_key=f"unsubscribe:{delivery.id}",
                           user_agent=request.headers.get("User-Agent"), ip=request.remote_addr),
           state().settings)


@blueprint.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):
    web = state()
    with web.sessions.begin() as session:
        delivery = _delivery_for(session, token)
        if request.method == "GET":
            contact = preferences_service.contact_of(session, delivery.id)
            done = contact is not None and contact.status == "unsubscribed"
            return _render("unsubscribe.html", token=token, done=done, has_preferences=contact is not None)
        one_click = request.form.get("List-Unsubscribe") == "One-Click"
        _unsubscribe(session, delivery, "one-click" if one_click else "unsubscribe")
    if one_click:
        # RFC 8058 section 3.2: the mail client wants a plain success, not a page to show.
        return "You are unsubscribed.\n", 200, {"Content-Type": "text/plain; charset=utf-8"}
    return _render("unsubscribe.html", token=token, done=True, has_preferences=False)


@blueprint.route("/preferences/<token>", methods=["GET", "POST"])
def preferences(token: str):
    web = state()
    with web.sessions.begin() as session:
        delivery = _delivery_for(session, token)
        contact = preferences_service.contact_of(session, delivery.id)
        if contact is None:
            abort(404)
        options = preferences_service.options(session, contact)
        saved = False
        if request.method == "POST":
            if request.form.get("all") == "unsubscribe":
                _unsubscribe(session, delivery, "preferences")
                return _render("unsubscribe.html", token=token, done=True, has_preferences=False)
            options, saved = preferences_service.keep_only(session, contact, request.form.getlist("keep")), True
        return _render("preferences.html", token=token, contact=contact, options=options,
                       label="beats" if contact.kind == "journalist" else "interests", saved=saved,
                       unsubscribed=contact.status == "unsubscribed")


@blueprint.get("/releases/<slug>")
def web_version(slug: str):
    web = state()
    with web.sessions() as session:
        release = releases.find_published(session, slug)
        if release is None:
            abort(404)
        return _render("release.html", release=release, contacts=contacts_for(release),
                       words=email_words.words(release.language), direction=email_words.direction(release.language),
                       body=body_html(release.body, release.source_format, dateline_for(release)))

