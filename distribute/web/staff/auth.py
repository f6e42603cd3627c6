"""Sign in and out, change the password, set it from a reset link, sign out everywhere.

Every failure to sign in says the same thing, whichever part was wrong, and is counted by the
rate limit (limits.py)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from distribute.errors import UserError
from distribute.services import users
from distribute.web.staff.forms import show_error
from distribute.web.staff.signin import SignedIn
from distribute.web.staff.state import current_actor, state, unit_of_work

blueprint = Blueprint("auth", __name__)
PUBLIC = frozenset({"auth.login", "auth.reset"})  # the endpoints open without a session


class SignInForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()], render_kw={"autocomplete": "username"})
    password = PasswordField("Password", validators=[DataRequired()], render_kw={"autocomplete": "current-password"})


class NewPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(min=users.MIN_PASSWORD)],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("New password again", validators=[DataRequired(), EqualTo("password", "The two passwords differ.")],
                            render_kw={"autocomplete": "new-password"})


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField("Current password", validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})


def _safe_next(target: str | None) -> str:
    """Only a path on this site: `next` comes from the URL, and anyone can write a URL."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc \
            and "\\" not in target:
        return target
    return url_for("home.dashboard")


def _sign_in(actor, epoch: int) -> None:
    session.clear()  # nothing from before the sign-in carries over (session fixation)
    login_user(SignedIn(actor, epoch))
    session.permanent = True


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    form = SignInForm()
    if form.validate_on_submit():
        with unit_of_work() as db:
            actor = users.authenticate(db, form.email.data, form.password.data, via="web")
            epoch = users.epoch_of(db, actor.user_id) if actor else None
        if actor:
            _sign_in(actor, epoch)
            return redirect(_safe_next(request.args.get("next")))
        g.sign_in_failed = True
        form.form_errors.append("Wrong email or password.")
        return render_template("staff/auth/login.html", form=form), 401
    return render_template("staff/auth/login.html", form=form)


@blueprint.post("/logout")
def logout():
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@blueprint.post("/logout/everywhere")
def logout_everywhere():
    with unit_of_work() as db:
        users.end_sessions(db, current_actor())
    logout_user()
    session.clear()
    flash("You are signed out on every device.", "info")
    return redirect(url_for("auth.login"))


@blueprint.route("/account/password", methods=["GET", "POST"])
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        actor = current_actor()
        try:
            with unit_of_work() as db:
                users.change_password(db, actor, form.current_password.data, form.password.data)
                epoch = users.epoch_of(db, actor.user_id)
        except UserError as exc:
            show_error(form, exc)
        else:
            _sign_in(actor, epoch)  # this session goes on; every other one has ended
            flash("Your password is changed; you are signed out everywhere else.", "success")
            return redirect(url_for("home.dashboard"))
    return render_template("staff/auth/password.html", form=form)


@blueprint.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    secret = state().secret
    try:
        with unit_of_work() as db:
            email = users.user_for_reset(db, token, secret).email
    except UserError as exc:
        return render_template("staff/auth/reset.html", form=None, problem=str(exc)), 400
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            with unit_of_work() as db:
                users.reset_password(db, token, form.password.data, secret)
        except UserError as exc:
            show_error(form, exc)
        else:
            logout_user()
            flash("Your password is set: sign in with it.", "success")
            return redirect(url_for("auth.login"))
    return render_template("staff/auth/reset.html", form=form, email=email, problem=None)
