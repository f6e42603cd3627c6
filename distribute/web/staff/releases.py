"""Releases: the list, writing and editing (typed Markdown with a live preview, or an uploaded
file the CLI would read), the release page (the check, each variant at desktop and phone width for
a chosen contact, the plain-text part and the headers) and "Send me a test".

The email previews are served as pages of their own, shown in sandboxed same-origin iframes: an
email's HTML needs inline styles, which the app's policy forbids, so a preview answers with a
policy of its own (styles, no scripts, a sandbox)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectChoice, SelectField, StringField, TextAreaField

from distribute.errors import Forbidden, UserError
from distribute.releases.draft import ReleaseError
from distribute.releases.rendering import VARIANTS
from distribute.services import dispatch, releases
from distribute.services.actor import EDIT, SEND, require
from distribute.web.staff.forms import show_error
from distribute.web.staff.state import current_actor, state, unit_of_work

blueprint = Blueprint("releases", __name__, url_prefix="/releases")
# Paths of our own start with "_", which no slug has: a release may well be called "new".
PAGE = 50
TYPED = "your text"  # how an error names typed text: "your text:12: …"
# The preview frames: inline styles (every email has them) and images, no script, no form.
PREVIEW_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data: https:; "
                  "frame-ancestors 'self'; sandbox")
FORMATS = [SelectChoice("auto", "Recognise it"), SelectChoice("markdown", "Markdown with front matter"),
           SelectChoice("text", "Plain text as pasted")]
VARIANT_CHOICES = [SelectChoice(v, f"{v.title()} variant") for v in VARIANTS]


class ReleaseForm(FlaskForm):
    text = TextAreaField("Release text", render_kw={"rows": 24, "spellcheck": "true"})
    upload = FileField("Or upload a .md or .txt file")
    fmt = SelectField("Read it as", choices=FORMATS, default="auto")
    title = StringField("Title, when the text has none")
    language = StringField("Language (en, fr, ar …), when not the one detected", render_kw={"size": 8})
    slug = StringField("Short name in links (made from the title when empty)")


class TestForm(FlaskForm):
    variant = SelectField("Variant", choices=VARIANT_CHOICES, default="journalist")


def _text(form: ReleaseForm) -> releases.Text:
    upload = form.upload.data
    if upload and upload.filename:
        data, source = upload.read(), upload.filename
    else:
        data, source = (form.text.data or "").encode("utf-8"), TYPED
    return releases.Text(data, source, fmt=form.fmt.data, title=form.title.data or None,
                         language=(form.language.data or "").strip() or None)


def _show(form: ReleaseForm, error: UserError) -> None:
    if isinstance(error, Forbidden):
        raise error
    if isinstance(error, ReleaseError) and error.field is None:
        where = "upload" if error.source != TYPED else "text"
        line = f"Line {error.line}: " if error.line else ""
        getattr(form, where).errors = [*getattr(form, where).errors, f"{line}{error.reason}"]
        return
    show_error(form, error, {"format": "fmt"})


@blueprint.get("/")
def index():
    before = request.args.get("before", type=int)
    with unit_of_work() as session:
        rows = releases.list_releases(session, current_actor(), limit=PAGE + 1, before=before)
    more = len(rows) > PAGE
    return render_template("staff/releases/index.html", rows=rows[:PAGE], before=before,
                           next_before=rows[PAGE - 1]["id"] if more else None, may_edit=current_actor().may(EDIT))


def _editor(form: ReleaseForm, slug: str | None):
    return render_template("staff/releases/edit.html", form=form, slug=slug, variants=VARIANT_CHOICES)


@blueprint.route("/_new", methods=["GET", "POST"])
def new():
    require(current_actor(), EDIT)
    form = ReleaseForm()
    if form.validate_on_submit():
        try:
            with unit_of_work() as session:
                saved = releases.add(session, current_actor(), _text(form), zone=state().settings.zone,
                                     slug=(form.slug.data or "").strip() or None)
        except UserError as exc:
            _show(form, exc)
        else:
            return _saved(saved)
    return _editor(form, None)


@blueprint.route("/<slug>/edit", methods=["GET", "POST"])
def edit(slug: str):
    require(current_actor(), EDIT)
    form = ReleaseForm()
    del form.slug  # the slug names the release being edited
    if form.validate_on_submit():
        try:
            with unit_of_work() as session:
                saved = releases.update(session, current_actor(), slug, _text(form), zone=state().settings.zone)
        except UserError as exc:
            _show(form, exc)
        else:
            return _saved(saved)
    elif request.method == "GET":
        with unit_of_work() as session:
            form.text.data = releases.source_text(session, current_actor(), slug)["text"]
        form.fmt.data = "markdown"
    return _editor(form, slug)


def _saved(saved: dict):
    said = {"stored": "Release stored.", "updated": "Release updated.",
            "identical": "Nothing changed: this text is already stored as this release."}
    flash(said[saved["outcome"]], "success" if saved["outcome"] != "identical" else "info")
    return redirect(url_for(".show", slug=saved["slug"]))


@blueprint.get("/<slug>")
def show(slug: str):
    contact = (request.args.get("contact") or "").strip() or None
    with unit_of_work() as session:
        page = releases.overview(session, current_actor(), slug, settings=state().settings, contact=contact)
    actor = current_actor()
    return render_template("staff/releases/show.html", contact=contact or "", test_form=TestForm(),
                           may_edit=actor.may(EDIT), may_send=actor.may(SEND), **page)


@blueprint.get("/<slug>/email/<variant>")
def email(slug: str, variant: str):
    """One variant's HTML, for the preview frames."""
    if variant not in VARIANTS:
        abort(404)
    contact = (request.args.get("contact") or "").strip() or None
    with unit_of_work() as session:
        shown = releases.preview(session, current_actor(), slug, settings=state().settings, variants=[variant],
                                 contact=contact)
    return _frame(shown["variants"][0]["html"])


def _frame(html: str):
    return html, 200, {"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": PREVIEW_POLICY}


@blueprint.post("/<slug>/test")
def test_send(slug: str):
    form = TestForm()
    if not form.validate_on_submit():
        abort(400)
    actor = current_actor()
    with unit_of_work() as session:
        sent = releases.test_send(session, actor, slug, to=[actor.name], settings=state().settings,
                                  variant=form.variant.data)
    dispatch.start(state().settings, [sent["campaign"]])  # after the commit: the worker must see the row
    flash(f"A test of the {sent['variant']} variant is on its way to {', '.join(sent['to'])} "
          f"(campaign {sent['campaign']}, kept out of the results).", "success")
    return redirect(url_for(".show", slug=slug))


# --- the editor's live view ------------------------------------------------------------------------
def _typed() -> releases.Text:
    data = request.form if request.form else (request.get_json(silent=True) or {})
    fmt = data.get("format") or "auto"
    return releases.Text((data.get("text") or "").encode("utf-8"), TYPED, fmt=fmt,
                         title=(data.get("title") or "").strip() or None,
                         language=(data.get("language") or "").strip() or None)


def _variant() -> str:
    data = request.form if request.form else (request.get_json(silent=True) or {})
    return data.get("variant") or "journalist"


@blueprint.post("/_live")
def live():
    """What the reader understood of the typed text, the check, or the error with its line (JSON)."""
    seen = releases.try_text(current_actor(), _typed(), settings=state().settings, variant=_variant())
    if seen["ok"]:
        seen["email"] = {key: seen["email"][key] for key in ("variant", "subject", "text", "headers", "html_bytes")}
    return jsonify(seen)


@blueprint.post("/_live/email")
def live_email():
    """The typed text's email, posted by the editor's hidden form into a preview frame."""
    seen = releases.try_text(current_actor(), _typed(), settings=state().settings, variant=_variant())
    if not seen["ok"]:
        html = render_template("staff/releases/unreadable.html", error=seen["error"])
        return _frame(html)
    return _frame(seen["email"]["html"])
