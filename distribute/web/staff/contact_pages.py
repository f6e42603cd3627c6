"""Contacts: the searchable list, one contact's page, CSV imports with progress, lists."""

from __future__ import annotations

import json
import os
import tempfile

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional

from distribute.errors import UserError
from distribute.models import KINDS
from distribute.services import contacts, imports, people
from distribute.services.actor import EDIT, SUPPRESS
from distribute.web.staff.audience_blueprint import blueprint
from distribute.web.staff.forms import show_error
from distribute.web.staff.state import current_actor, state, unit_of_work

KIND_CHOICES = [("", "Any kind"), *((k, k.title()) for k in KINDS)]


class ImportForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file.")])
    kind = SelectField("The people in the file are", choices=[SelectChoice(k, k.title() + "s") for k in KINDS])
    list_name = StringField("Also add them to the list", validators=[Optional(), Length(max=200)])
    tags = StringField("Tag them", validators=[Optional(), Length(max=500)])


def _arg(name: str) -> str | None:
    value = request.args.get(name, "").strip()
    return value or None


@blueprint.get("/", endpoint="contacts")
def contacts_page():
    filters = {"q": _arg("q"), "kind": _arg("kind"), "list_name": _arg("list"), "tag": _arg("tag"),
               "language": _arg("language")}
    before = request.args.get("before", type=int)
    with unit_of_work() as session:
        page = contacts.browse(session, current_actor(), before=before, **filters)
        lists = contacts.lists(session, current_actor())
    query = {k: v for k, v in request.args.items() if k != "before" and v}
    return render_template("staff/audiences/contacts.html", page=page, lists=lists, filters=filters,
                           kinds=KIND_CHOICES, query=query, first_page=before is None)


@blueprint.get("/contacts/<int:contact_id>")
def contact(contact_id: int):
    with unit_of_work() as session:
        person = people.get(session, current_actor(), contact_id)
    return render_template("staff/audiences/contact.html", person=person,
                           may_edit=current_actor().may(EDIT), may_suppress=current_actor().may(SUPPRESS))


@blueprint.post("/contacts/<int:contact_id>/unsubscribe")
def unsubscribe(contact_id: int):
    with unit_of_work() as session:
        people.unsubscribe(session, current_actor(), contact_id)
    flash("Unsubscribed: this address is on the suppression list and will not be mailed.", "success")
    return redirect(url_for("audiences.contact", contact_id=contact_id))


@blueprint.post("/contacts/<int:contact_id>/suppress")
def suppress(contact_id: int):
    reason = request.form.get("reason", "")
    try:
        with unit_of_work() as session:
            people.suppress(session, current_actor(), contact_id, reason)
    except UserError as exc:
        if exc.field != "reason":
            raise
        flash(str(exc), "error")
    else:
        flash("Suppressed: this address will never be mailed.", "success")
    return redirect(url_for("audiences.contact", contact_id=contact_id))


@blueprint.get("/contacts/<int:contact_id>/export.json")
def export(contact_id: int):
    with unit_of_work() as session:
        data = people.export(session, current_actor(), contact_id)
    return Response(json.dumps(data, ensure_ascii=False, indent=2, default=str), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="contact-{contact_id}.json"'})


@blueprint.post("/contacts/<int:contact_id>/erase")
def erase(contact_id: int):
    with unit_of_work() as session:
        people.erase(session, current_actor(), contact_id, request.form.get("reason", ""))
    flash(f"Contact {contact_id} erased; the address stays on the suppression list.", "success")
    return redirect(url_for("audiences.contacts"))


@blueprint.route("/import", methods=["GET", "POST"])
def import_page():
    if not current_actor().may(EDIT):  # the form would only be refused on sending
        abort(403)
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        fd, path = tempfile.mkstemp(prefix="distribute-import-", suffix=".csv")
        with os.fdopen(fd, "wb") as out:
            upload.save(out)
        tags = [t.strip() for t in (form.tags.data or "").split(",")]
        try:
            job = imports.start(state().sessions, current_actor(), path, file_name=upload.filename or "upload.csv",
                                kind=form.kind.data, list_name=form.list_name.data or None, tags=tags)
        except UserError as exc:
            show_error(form, exc, {"list": "list_name"})
        else:
            return redirect(url_for("audiences.import_job", job_id=job["id"]))
    return render_template("staff/audiences/import.html", form=form), 400 if form.errors or form.form_errors else 200


@blueprint.get("/imports/<int:job_id>")
def import_job(job_id: int):
    with unit_of_work() as session:
        job = imports.get(session, current_actor(), job_id)
    return render_template("staff/audiences/import_job.html", job=job)


@blueprint.get("/imports/<int:job_id>.json")
def import_progress(job_id: int):
    with unit_of_work() as session:
        job = imports.get(session, current_actor(), job_id)
    if job["report"]:  # the page reloads to show the report; the poll needs only the counts
        job["report"] = {k: v for k, v in job["report"].items() if k != "skipped"}
    return job


@blueprint.get("/lists")
def lists():
    with unit_of_work() as session:
        rows = contacts.lists(session, current_actor())
    return render_template("staff/audiences/lists.html", lists=rows)
