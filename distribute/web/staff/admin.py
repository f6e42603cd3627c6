"""Admin pages: users, API tokens, the audit log, the settings (read-only). Every service call
here requires MANAGE, so a viewer or comms user gets the 403 page from the service itself.

A password link or a token is shown once, in the answer to the POST that made it, and kept
nowhere (not in the session cookie either): whoever closes the page asks for a new one."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from distribute.errors import Forbidden, UserError
from distribute.services import audit, users
from distribute.services import settings as settings_view
from distribute.services.actor import ROLES
from distribute.web.staff.forms import show_error
from distribute.web.staff.state import current_actor, state, unit_of_work

blueprint = Blueprint("admin", __name__, url_prefix="/admin")
ROLE_CHOICES = list(ROLES)
AUDIT_PAGE = 50


class AddUserForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    name = StringField("Name", validators=[Length(max=200)])
    role = SelectField("Role", choices=ROLE_CHOICES, default="comms")


class TokenForm(FlaskForm):
    email = SelectField("User", validators=[DataRequired()])
    name = StringField("What uses it", validators=[DataRequired(), Length(max=200)])
    role = SelectField("Role", choices=[SelectChoice("", "the user's role"), *ROLES], default="")


def _link(token: str) -> str:
    return state().settings.staff_url + url_for("auth.reset", token=token)


def _users_page(form: AddUserForm, link: dict | None = None, status: int = 200):
    with unit_of_work() as db:
        rows = users.list_users(db, current_actor())
    return render_template("staff/admin/users.html", users=rows, form=form, link=link, roles=ROLES), status


@blueprint.get("/users", endpoint="users")
def users_page():
    return _users_page(AddUserForm())


@blueprint.post("/users")
def add_user():
    form = AddUserForm()
    if form.validate_on_submit():
        try:
            with unit_of_work() as db:
                user, token = users.invite(db, current_actor(), form.email.data, role=form.role.data,
                                           name=form.name.data or "", secret=state().secret)
        except UserError as exc:
            show_error(form, exc)
        else:
            return _users_page(AddUserForm(formdata=None), {"email": user["email"], "url": _link(token), "new": True})
    return _users_page(form, status=400)


@blueprint.post("/users/<int:user_id>/reset")
def reset_link(user_id: int):
    with unit_of_work() as db:
        email = users.get_user(db, user_id).email
        token = users.reset_token(db, current_actor(), email, state().secret)
    return _users_page(AddUserForm(formdata=None), {"email": email, "url": _link(token), "new": False})


@blueprint.post("/users/<int:user_id>/role")
def change_role(user_id: int):
    try:
        with unit_of_work() as db:
            user = users.set_role(db, current_actor(), users.get_user(db, user_id).email, request.form.get("role", ""))
        flash(f"{user['email']} is now {user['role']}.", "success")
    except Forbidden:
        raise  # the 403 page
    except UserError as exc:  # the last admin, an unknown role: said on the page
        flash(str(exc), "error")
    return redirect(url_for("admin.users"))


@blueprint.post("/users/<int:user_id>/deactivate")
def deactivate(user_id: int):
    try:
        with unit_of_work() as db:
            user = users.deactivate(db, current_actor(), users.get_user(db, user_id).email)
        flash(f"{user['email']} is deactivated: their sessions and tokens have ended.", "success")
    except Forbidden:
        raise  # the 403 page
    except UserError as exc:  # the last admin, an unknown role: said on the page
        flash(str(exc), "error")
    return redirect(url_for("admin.users"))


def _tokens_page(form: TokenForm, created: dict | None = None, status: int = 200):
    with unit_of_work() as db:
        actor = current_actor()
        rows = users.list_tokens(db, actor)
        people = [u for u in users.list_users(db, actor) if u["active"]]
    form.email.choices = [SelectChoice(u["email"], f"{u['email']} ({u['role']})") for u in people]
    return render_template("staff/admin/tokens.html", tokens=rows, form=form, created=created), status


@blueprint.get("/tokens")
def tokens():
    return _tokens_page(TokenForm())


@blueprint.post("/tokens")
def create_token():
    form = TokenForm()
    form.email.choices = [form.email.data or ""]  # any email: the service judges it
    if form.validate_on_submit():
        try:
            with unit_of_work() as db:
                plain, record = users.create_token(db, current_actor(), form.email.data, form.name.data,
                                                   form.role.data or None)
        except UserError as exc:
            show_error(form, exc)
        else:
            return _tokens_page(TokenForm(formdata=None), {"token": plain, **record})
    return _tokens_page(form, status=400)


@blueprint.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    with unit_of_work() as db:
        record = users.revoke_token(db, current_actor(), token_id)
    flash(f"The token “{record['name']}” is revoked.", "success")
    return redirect(url_for("admin.tokens"))


@blueprint.get("/audit", endpoint="audit")
def audit_log():
    before = request.args.get("before", type=int)
    action = request.args.get("action", "").strip() or None
    with unit_of_work() as db:
        rows = audit.entries(db, current_actor(), limit=AUDIT_PAGE + 1, before=before, action=action)
    more = len(rows) > AUDIT_PAGE
    rows = rows[:AUDIT_PAGE]
    return render_template("staff/admin/audit.html", entries=rows, action=action or "", before=before,
                           older=rows[-1]["id"] if more and rows else None)


@blueprint.get("/settings", endpoint="settings")
def settings_page():
    rows = settings_view.describe(current_actor(), state().settings)
    return render_template("staff/admin/settings.html", settings=rows)
