"""The audiences endpoints: contacts (list and search, get, create, import a CSV file), lists,
segments (check, count, create, list) and the suppression list (admins).

A CSV import answers 202 with the job at once; GET /imports/{id} says how far it is and, when
done, gives the same per-row report as the CLI's --json."""

from __future__ import annotations

import os
import tempfile

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from distribute.api.auth import current_actor, needs, sessions

from distribute.models import KINDS
from distribute.services import contacts, imports, people, segments, suppression
from distribute.services.actor import EDIT, READ, SUPPRESS

blueprint = Blueprint("api_audiences", __name__, url_prefix="/api/v1/audiences",
                      description="Contacts, lists, segments and the suppression list.")


class ContactQuery(Schema):
    q = fields.String(metadata={"description": "The start of an address, a name or an outlet."})
    kind = fields.String(validate=validate.OneOf(KINDS))
    list = fields.String()
    tag = fields.String()
    language = fields.String()
    before = fields.Integer(metadata={"description": "The `next` of the previous page."})
    limit = fields.Integer(load_default=contacts.PAGE_SIZE, validate=validate.Range(1, contacts.MAX_PAGE))


class Contact(Schema):
    id = fields.Integer()
    email = fields.String()
    name = fields.String(allow_none=True)
    kind = fields.String()
    outlet = fields.String(allow_none=True)
    beat = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    language = fields.String(allow_none=True)
    place = fields.String(allow_none=True)
    status = fields.String()
    tags = fields.List(fields.String())
    created_at = fields.String()


class ContactPage(Schema):
    contacts = fields.List(fields.Nested(Contact))
    next = fields.Integer(allow_none=True)


class ContactDetail(Contact):
    attributes = fields.Dict()
    updated_at = fields.String()
    lists = fields.List(fields.Dict())
    suppression = fields.Dict(allow_none=True)
    deliveries = fields.List(fields.Dict())
    created = fields.Boolean()


class NewContact(Schema):
    email = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    name = fields.String()
    outlet = fields.String()
    beat = fields.String()
    region = fields.String()
    language = fields.String()
    place = fields.String()
    tags = fields.List(fields.String(), load_default=list)
    list = fields.String(metadata={"description": "Also add the contact to this static list."})


class ImportForm(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    list = fields.String()
    tags = fields.String(metadata={"description": "Comma-separated."})


class ImportFile(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class ImportJob(Schema):
    id = fields.Integer()
    state = fields.String(metadata={"description": "running, done, failed or interrupted"})
    file = fields.String()
    kind = fields.String()
    list = fields.String(allow_none=True)
    tags = fields.List(fields.String())
    by = fields.String()
    bytes_total = fields.Integer()
    bytes_done = fields.Integer()
    percent = fields.Integer()
    report = fields.Dict(allow_none=True, metadata={"description": "When done: imported, updated, unchanged, "
                                                                    "merged, rows, list, skipped [{line, reason}]"})
    error = fields.String(allow_none=True)
    created_at = fields.String()
    updated_at = fields.String()


class ListRow(Schema):
    id = fields.Integer()
    name = fields.String()
    members = fields.Integer()
    created_at = fields.String()


class RuleIn(Schema):
    rule = fields.String(required=True)


class Counts(Schema):
    matched = fields.Integer()
    suppressed = fields.Integer()
    inactive = fields.Integer()
    recipients = fields.Integer()


class Checked(Counts):
    rule = fields.String()
    understood_as = fields.String()


class SegmentIn(Schema):
    name = fields.String(required=True)
    rule = fields.String(required=True)
    replace = fields.Boolean(load_default=False)


class SegmentOut(Counts):
    segment = fields.String()
    rule = fields.String()
    understood_as = fields.String()
    replaced = fields.Boolean()


class SegmentRow(Counts):
    name = fields.String()
    rule = fields.String()
    created_at = fields.String()


class SuppressionQuery(Schema):
    search = fields.String()
    source = fields.String(validate=validate.OneOf(suppression.SOURCES))
    after = fields.String(metadata={"description": "The last address of the previous page."})
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))


class SuppressionRow(Schema):
    email = fields.String()
    reason = fields.String()
    source = fields.String()
    created_at = fields.String()


class RemovedSuppression(SuppressionRow):
    contact_status = fields.String(allow_none=True, metadata={"description": "still not mailed unless active"})


class SuppressIn(Schema):
    emails = fields.List(fields.String(), required=True, validate=validate.Length(min=1, max=10_000))
    reason = fields.String(required=True)
    source = fields.String(validate=validate.OneOf(suppression.SOURCES))


class SuppressReport(Schema):
    added = fields.List(fields.String())
    already = fields.List(fields.String())
    invalid = fields.List(fields.Dict())
    repeated = fields.Integer()


@blueprint.get("/contacts")
@needs(READ)
@blueprint.arguments(ContactQuery, location="query")
@blueprint.response(200, ContactPage)
def list_contacts(query):
    """A page of contacts, newest first; search and filters combine; `next` pages on."""
    with sessions().begin() as session:
        return contacts.browse(session, current_actor(), q=query.get("q"), kind=query.get("kind"),
                               list_name=query.get("list"), tag=query.get("tag"), language=query.get("language"),
                               before=query.get("before"), limit=query["limit"])


@blueprint.post("/contacts")
@needs(EDIT)
@blueprint.arguments(NewContact)
@blueprint.response(201, ContactDetail)
def create_contact(body):
    """Add a contact, or update the one with that address (an unsubscribed one stays so)."""
    extra = {k: body[k] for k in people.FIELDS if k in body}
    return people.create(sessions(), current_actor(), email=body["email"], kind=body["kind"],
                         list_name=body.get("list"), tags=tuple(body["tags"]), **extra)


@blueprint.get("/contacts/<int:contact_id>")
@needs(READ)
@blueprint.response(200, ContactDetail)
def get_contact(contact_id: int):
    """Everything about one contact, with every delivery and its events."""
    with sessions().begin() as session:
        return people.get(session, current_actor(), contact_id)


@blueprint.post("/contacts/import")
@needs(EDIT)
@blueprint.arguments(ImportForm, location="form")
@blueprint.arguments(ImportFile, location="files")
@blueprint.response(202, ImportJob)
def import_contacts(form, files):
    """Import a CSV file (multipart, field `file`); answers at once with the job to poll."""
    upload = files["file"]
    fd, path = tempfile.mkstemp(prefix="distribute-import-", suffix=".csv")
    with os.fdopen(fd, "wb") as out:
        upload.save(out)
    tags = [t.strip() for t in form.get("tags", "").split(",")]
    return imports.start(sessions(), current_actor(), path, file_name=upload.filename or "upload.csv",
                         kind=form["kind"], list_name=form.get("list"), tags=tags)


@blueprint.get("/imports/<int:job_id>")
@needs(READ)
@blueprint.response(200, ImportJob)
def get_import(job_id: int):
    """How far an import is; its report when done."""
    with sessions().begin() as session:
        return imports.get(session, current_actor(), job_id)


@blueprint.get("/lists")
@needs(READ)
@blueprint.response(200, ListRow(many=True))
def list_lists():
    """Every static list with its member count."""
    with sessions().begin() as session:
        return contacts.lists(session, current_actor())


@blueprint.post("/segments/check")
@needs(READ)
@blueprint.arguments(RuleIn)
@blueprint.response(200, Checked)
def check_rule(body):
    """Check a rule and count whom it reaches today; a bad rule is a 400 `bad_rule` with `line`
    and `column`."""
    with sessions().begin() as session:
        return segments.check(session, current_actor(), body["rule"])


@blueprint.get("/segments")
@needs(READ)
@blueprint.response(200, SegmentRow(many=True))
def list_segments():
    """Every saved segment with its counts."""
    with sessions().begin() as session:
        return segments.list_all(session, current_actor(), with_counts=True)


@blueprint.post("/segments")
@needs(EDIT)
@blueprint.arguments(SegmentIn)
@blueprint.response(201, SegmentOut)
def create_segment(body):
    """Save a segment (409 if the name is taken and `replace` is false)."""
    with sessions().begin() as session:
        return segments.add(session, current_actor(), body["name"], body["rule"], replace=body["replace"])


@blueprint.get("/segments/<path:name>/count")
@needs(READ)
@blueprint.response(200, SegmentOut)
def count_segment(name: str):
    """Whom a saved segment reaches today, after suppressions and unsubscribes."""
    with sessions().begin() as session:
        return segments.count(session, current_actor(), name)


@blueprint.get("/suppressions")
@needs(SUPPRESS)
@blueprint.arguments(SuppressionQuery, location="query")
@blueprint.response(200, SuppressionRow(many=True))
def list_suppressions(query):
    """Suppressed addresses by address; `after` pages on."""
    with sessions().begin() as session:
        return suppression.list_page(session, current_actor(), search=query.get("search"),
                                     source=query.get("source"), after=query.get("after"), limit=query["limit"])


@blueprint.post("/suppressions")
@needs(SUPPRESS)
@blueprint.arguments(SuppressIn)
@blueprint.response(200, SuppressReport)
def add_suppressions(body):
    """Suppress addresses; invalid ones are reported and the others kept."""
    with sessions().begin() as session:
        return suppression.add(session, current_actor(), emails=body["emails"], reason=body["reason"],
                               source=body.get("source"))


@blueprint.delete("/suppressions/<path:email>")
@needs(SUPPRESS)
@blueprint.response(200, RemovedSuppression)
def remove_suppression(email: str):
    """Take an address off the list (its contact's own status does not change)."""
    with sessions().begin() as session:
        return suppression.remove(session, current_actor(), email)



