"""Segments (the builder with the parser's caret and a live count) and the suppression list."""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from distribute.audience.rule_errors import RuleError
from distribute.audience.rules import EXAMPLE_RULE, KNOWN_FIELDS
from distribute.errors import UserError
from distribute.services import segments, suppression
from distribute.services.actor import EDIT
from distribute.web.staff.audience_blueprint import blueprint
from distribute.web.staff.forms import show_error
from distribute.web.staff.state import current_actor, unit_of_work

SUPPRESSIONS_PAGE = 100


class SegmentForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    rule = TextAreaField("Rule", validators=[DataRequired()], render_kw={"spellcheck": "false", "rows": 4})
    replace = BooleanField("Replace the rule of an existing segment of this name")


class SuppressForm(FlaskForm):
    emails = TextAreaField("Addresses, one per line", validators=[DataRequired()], render_kw={"rows": 4})
    reason = StringField("Why they must not be mailed", validators=[DataRequired(), Length(max=500)])


def rule_error(exc: RuleError, rule: str) -> dict:
    """The error as the builder shows it: the message's first line, and the rule's line at fault
    with the column for a caret under it."""
    lines = rule.splitlines() or [""]
    line = exc.line if exc.line and exc.line <= len(lines) else None
    return {"message": str(exc).split("\n", 1)[0], "line": exc.line, "column": exc.column,
            "source": lines[line - 1] if line else None}


@blueprint.get("/segments")
def segments_page():
    with unit_of_work() as session:
        rows = segments.list_all(session, current_actor(), with_counts=True)
    return render_template("staff/audiences/segments.html", segments=rows, may_edit=current_actor().may(EDIT))


@blueprint.route("/segments/builder", methods=["GET", "POST"])
def builder():
    form = SegmentForm()
    error = None
    if request.method == "GET" and request.args.get("name"):
        with unit_of_work() as session:
            shown = segments.show(session, current_actor(), request.args["name"], limit=0)
        form.name.data, form.rule.data, form.replace.data = shown["segment"], shown["rule"], True
    if form.validate_on_submit():
        try:
            with unit_of_work() as session:
                saved = segments.add(session, current_actor(), form.name.data, form.rule.data,
                                     replace=form.replace.data)
        except RuleError as exc:
            error = rule_error(exc, form.rule.data)
        except UserError as exc:
            show_error(form, exc, {"name": "name"})
        else:
            flash(f"Segment {saved['segment']!r} {'replaced' if saved['replaced'] else 'saved'}: "
                  f"{saved['recipients']} recipients.", "success")
            return redirect(url_for("audiences.segments_page"))
    status = 400 if request.method == "POST" and (error or form.errors or form.form_errors) else 200
    return render_template("staff/audiences/builder.html", form=form, error=error, example=EXAMPLE_RULE,
                           fields=KNOWN_FIELDS), status


@blueprint.post("/segments/count")
def count():
    """The live count: {"counts"…} for a good rule, or {"error": {message, line, column, source}}."""
    rule = str((request.get_json(silent=True) or {}).get("rule", ""))
    try:
        with unit_of_work() as session:
            return segments.check(session, current_actor(), rule)
    except RuleError as exc:
        return jsonify({"error": rule_error(exc, rule)}), 400


@blueprint.post("/segments/remove")
def remove_segment():
    with unit_of_work() as session:
        gone = segments.remove(session, current_actor(), request.form.get("name", ""))
    flash(f"Segment {gone['segment']!r} removed; its contacts are untouched.", "success")
    return redirect(url_for("audiences.segments_page"))


@blueprint.route("/suppressions", methods=["GET", "POST"])
def suppressions():
    form = SuppressForm()
    report = None
    if form.validate_on_submit():
        try:
            with unit_of_work() as session:
                report = suppression.add(session, current_actor(), emails=form.emails.data.splitlines(),
                                         reason=form.reason.data)
        except UserError as exc:
            show_error(form, exc)
        else:
            flash(f"{len(report['added'])} added, {len(report['already'])} already on the list.", "success")
            if not report["invalid"]:
                return redirect(url_for("audiences.suppressions"))
    search, after = request.args.get("q", "").strip() or None, request.args.get("after") or None
    with unit_of_work() as session:
        rows = suppression.list_page(session, current_actor(), search=search, after=after,
                                     limit=SUPPRESSIONS_PAGE + 1)
        total = suppression.count(session, current_actor())
    more = len(rows) > SUPPRESSIONS_PAGE
    return render_template("staff/audiences/suppressions.html", form=form, report=report,
                           rows=rows[:SUPPRESSIONS_PAGE], total=total, search=search,
                           next_after=rows[SUPPRESSIONS_PAGE - 1]["email"] if more else None)


@blueprint.post("/suppressions/remove")
def unsuppress():
    with unit_of_work() as session:
        removed = suppression.remove(session, current_actor(), request.form.get("email", ""))
    note = f" The contact is still {removed['contact_status']}." if removed["contact_status"] not in (None, "active") else ""
    flash(f"{removed['email']} is off the suppression list.{note}", "success")
    return redirect(url_for("audiences.suppressions"))
