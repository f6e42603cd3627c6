"""The releases endpoints: create (a JSON body with the text, or a multipart upload of the file the
CLI reads), list, get, update, remove, check, preview, and a test send to given addresses.

A release is named by its id or its slug (`ref`), as in the CLI. The shapes are the services'
(distribute.services.releases), the same as `distribute release … --json`."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from distribute.releases.rendering import VARIANTS
from distribute.services import dispatch, releases
from distribute.services.actor import EDIT, READ, SEND
from distribute.api.auth import current_actor, needs, sessions

blueprint = Blueprint("api_releases", __name__, url_prefix="/api/v1/releases", description="Releases.")
FORMAT = fields.String(load_default="auto", validate=validate.OneOf(releases.FORMATS),
                       metadata={"description": "markdown (front matter, then the body), text (as pasted), or auto"})


class TextIn(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=2_000_000),
                         metadata={"description": "The release as a file would hold it."})
    format = FORMAT
    title = fields.String(load_default=None, metadata={"description": "The headline, when the text has none."})
    language = fields.String(load_default=None)
    slug = fields.String(load_default=None, metadata={"description": "Store it under this name (create only)."})


class UploadIn(Schema):
    format = FORMAT
    title = fields.String(load_default=None)
    language = fields.String(load_default=None)
    slug = fields.String(load_default=None)


class UploadFile(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class Saved(Schema):
    id = fields.Integer()
    slug = fields.String()
    title = fields.String()
    dateline = fields.String(allow_none=True)
    outcome = fields.String(metadata={"description": "stored | updated | identical (nothing stored)"})
    release_date = fields.String(allow_none=True)
    language = fields.String()
    embargo_until = fields.String(allow_none=True)


class Summary(Schema):
    id = fields.Integer()
    slug = fields.String()
    title = fields.String()
    dateline = fields.String(allow_none=True)
    embargo_until = fields.String(allow_none=True)
    created_at = fields.String()
    updated_at = fields.String(allow_none=True)
    state = fields.String(metadata={"description": "draft | scheduled | embargoed | sent"})


class Release(Summary):
    class Meta:
        unknown = "include"

    subtitle = fields.String(allow_none=True)
    label = fields.String(allow_none=True)
    dateline_dash = fields.String(allow_none=True)
    release_date = fields.String(allow_none=True)
    language = fields.String()
    contacts = fields.List(fields.Dict())
    boilerplate_heading = fields.String(allow_none=True)
    boilerplate = fields.String(allow_none=True)
    lists = fields.List(fields.Dict())
    notes = fields.List(fields.String())
    end_mark = fields.String(allow_none=True)
    cta_label = fields.String(allow_none=True)
    cta_url = fields.String(allow_none=True)
    source_format = fields.String()
    body = fields.String()


class ListArgs(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 500))
    before = fields.Integer(load_default=None, metadata={"description": "Releases older than this id (the next page)."})


class Finding(Schema):
    severity = fields.String()
    code = fields.String()
    message = fields.String()
    variant = fields.String(allow_none=True)


class Check(Schema):
    release = fields.String()
    variants = fields.List(fields.String())
    ok = fields.Boolean()
    errors = fields.Integer()
    warnings = fields.Integer()
    findings = fields.List(fields.Nested(Finding))


class VariantArgs(Schema):
    variant = fields.List(fields.String(validate=validate.OneOf(VARIANTS)), load_default=None)
    contact = fields.String(load_default=None, metadata={"description": "A contact's address (preview only)."})


class Email(Schema):
    variant = fields.String()
    subject = fields.String()
    recipient = fields.Dict()
    headers = fields.List(fields.List(fields.String()))
    html = fields.String()
    text = fields.String()
    html_bytes = fields.Integer()


class Preview(Schema):
    release = fields.String()
    variants = fields.List(fields.Nested(Email))


class TestIn(Schema):
    to = fields.List(fields.Email(), required=True, validate=validate.Length(min=1, max=20))
    variant = fields.String(load_default="journalist", validate=validate.OneOf(VARIANTS))


class TestSent(Schema):
    campaign = fields.Integer()
    release = fields.String()
    variant = fields.String()
    to = fields.List(fields.String())
    state = fields.String()


class Removed(Schema):
    id = fields.Integer()
    slug = fields.String()
    removed = fields.Boolean()


def _text(args: dict, data: bytes, source: str) -> releases.Text:
    return releases.Text(data, source, fmt=args["format"], title=args.get("title"), language=args.get("language"))


def _settings():
    return current_app.extensions["distribute_staff"].settings  # the app that serves the API


def _zone():
    return _settings().zone


@blueprint.get("/")
@needs(READ)
@blueprint.arguments(ListArgs, location="query")
@blueprint.response(200, Summary(many=True))
def list_(args):
    """Releases, newest first, with full titles and state; page with `before`."""
    with sessions().begin() as session:
        return releases.list_releases(session, current_actor(), limit=args["limit"], before=args["before"])


@blueprint.post("/")
@needs(EDIT)
@blueprint.arguments(TextIn)
@blueprint.response(201, Saved)
def create(args):
    """Store a release from its text; the same text twice is stored once (outcome `identical`)."""
    with sessions().begin() as session:
        return releases.add(session, current_actor(), _text(args, args["text"].encode(), "text"), zone=_zone(),
                            slug=args.get("slug"))


@blueprint.post("/upload")
@needs(EDIT)
@blueprint.arguments(UploadIn, location="form")
@blueprint.arguments(UploadFile, location="files")
@blueprint.response(201, Saved)
def upload(args, files):
    """Store a release from an uploaded .md or .txt file (multipart/form-data, field `file`);
    errors name the file and the line."""
    upload = files["file"]
    with sessions().begin() as session:
        return releases.add(session, current_actor(), _text(args, upload.read(), upload.filename or "upload"),
                            zone=_zone(), slug=args.get("slug"))


@blueprint.get("/<ref>")
@needs(READ)
@blueprint.response(200, Release)
def get(ref: str):
    """Every field the reader understood, with the state."""
    with sessions().begin() as session:
        return releases.show(session, current_actor(), ref)


@blueprint.put("/<ref>")
@needs(EDIT)
@blueprint.arguments(TextIn)
@blueprint.response(200, Saved)
def update(args, ref: str):
    """Replace the text while no campaign has started sending it (409 after)."""
    with sessions().begin() as session:
        slug = releases.show(session, current_actor(), ref)["slug"]
        return releases.update(session, current_actor(), slug, _text(args, args["text"].encode(), "text"), zone=_zone())


@blueprint.delete("/<ref>")
@needs(EDIT)
@blueprint.response(200, Removed)
def remove(ref: str):
    """Delete a release never sent (409 once sent, or while a campaign of it waits)."""
    with sessions().begin() as session:
        return releases.remove(session, current_actor(), ref)


@blueprint.get("/<ref>/check")
@needs(READ)
@blueprint.arguments(VariantArgs, location="query")
@blueprint.response(200, Check)
def check(args, ref: str):
    """The pre-flight check; `ok` is false when a variant asked for has an error."""
    with sessions().begin() as session:
        return releases.check(session, current_actor(), ref, settings=_settings(), variants=args["variant"])


@blueprint.get("/<ref>/preview")
@needs(READ)
@blueprint.arguments(VariantArgs, location="query")
@blueprint.response(200, Preview)
def preview(args, ref: str):
    """Each variant's email for a contact (or a sample recipient): subject, headers, HTML, text."""
    with sessions().begin() as session:
        return releases.preview(session, current_actor(), ref, settings=_settings(), variants=args["variant"],
                                contact=args["contact"])


@blueprint.post("/<ref>/test")
@needs(SEND)
@blueprint.arguments(TestIn)
@blueprint.response(202, TestSent)
def test_send(args, ref: str):
    """A test send to these addresses only, kept out of the results; it starts at once."""
    with sessions().begin() as session:
        sent = releases.test_send(session, current_actor(), ref, to=args["to"], settings=_settings(),
                                  variant=args["variant"])
    dispatch.start(_settings(), [sent["campaign"]])
    return sent
