"""Users, roles, passwords, reset links, API tokens and the audit log, on both databases."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from distribute.errors import Conflict, Forbidden, NotFound, UserError
from distribute.models import User
from distribute.services import audit, users
from distribute.services.actor import ADMIN, COMMS, EDIT, MANAGE, READ, SEND, SUPPRESS, VIEWER, Actor, operator, require

SECRET = "test-secret-key-for-distribute-tests"
PASSWORD = "correct horse battery"


def test_the_role_table():
    viewer, comms, admin = (Actor("x", role) for role in (VIEWER, COMMS, ADMIN))
    require(viewer, READ)
    for permission in (EDIT, SEND, SUPPRESS, MANAGE):
        with pytest.raises(Forbidden) as caught:
            require(viewer, permission)
        assert caught.value.code == "forbidden" and "viewer" in str(caught.value)
    require(comms, SEND)
    require(comms, EDIT)
    for permission in (SUPPRESS, MANAGE):
        with pytest.raises(Forbidden):
            require(comms, permission)
    for permission in (READ, EDIT, SEND, SUPPRESS, MANAGE):
        require(admin, permission)


def test_add_sign_in_and_wrong_passwords(db):
    with db.sessions.begin() as s:
        added = users.add_user(s, operator(), " Ada@Example.ORG ", role=ADMIN, name="Ada", password=PASSWORD)
    assert added["email"] == "ada@example.org" and added["has_password"]
    with db.sessions.begin() as s:
        stored = s.scalar(select(User.password_hash))
        assert stored.startswith("$argon2id$") and PASSWORD not in stored
        actor = users.authenticate(s, "ADA@example.org", PASSWORD)
        assert actor == Actor("ada@example.org", ADMIN, added["id"], "web")
        assert users.authenticate(s, "ada@example.org", PASSWORD + "x") is None
        assert users.authenticate(s, "nobody@example.org", PASSWORD) is None
        assert users.authenticate(s, "not an address", PASSWORD) is None
    with db.sessions.begin() as s, pytest.raises(Conflict):
        users.add_user(s, operator(), "ada@example.org", role=COMMS)
    with db.sessions.begin() as s, pytest.raises(UserError) as caught:
        users.add_user(s, operator(), "bob@example.org", role=COMMS, password="short")
    assert caught.value.field == "password"
    with db.sessions.begin() as s, pytest.raises(UserError) as caught:
        users.add_user(s, operator(), "bob@example.org", role="boss")
    assert caught.value.field == "role"


def test_only_an_admin_manages_users_and_the_last_admin_stays(db):
    with db.sessions.begin() as s:
        admin = users.add_user(s, operator(), "ada@example.org", role=ADMIN, password=PASSWORD)
        users.add_user(s, operator(), "cy@example.org", role=COMMS, password=PASSWORD)
    comms = Actor("cy@example.org", COMMS, 2, "web")
    with db.sessions.begin() as s:
        for call in (lambda: users.add_user(s, comms, "eve@example.org", role=ADMIN),
                     lambda: users.set_role(s, comms, "cy@example.org", ADMIN),
                     lambda: users.create_token(s, comms, "cy@example.org", "mine"),
                     lambda: users.list_users(s, comms),
                     lambda: audit.entries(s, comms)):
            with pytest.raises(Forbidden):
                call()
    with db.sessions.begin() as s, pytest.raises(Conflict):
        users.set_role(s, operator(), admin["email"], VIEWER)
    with db.sessions.begin() as s, pytest.raises(Conflict):
        users.deactivate(s, operator(), admin["email"])


def test_a_password_change_or_role_change_ends_open_sessions(db):
    with db.sessions.begin() as s:
        user = users.add_user(s, operator(), "cy@example.org", role=COMMS, password=PASSWORD)
        epoch = users.epoch_of(s, user["id"])
        actor = users.session_is_current(s, user["id"], epoch)
        assert actor.role == COMMS
        users.change_password(s, actor, PASSWORD, PASSWORD + " staple")
        assert users.session_is_current(s, user["id"], epoch) is None
        epoch = users.epoch_of(s, user["id"])
        users.set_role(s, operator(), "cy@example.org", VIEWER)
        assert users.session_is_current(s, user["id"], epoch) is None
        assert users.session_is_current(s, user["id"], users.epoch_of(s, user["id"])).role == VIEWER
    with db.sessions.begin() as s, pytest.raises(UserError) as caught:
        users.change_password(s, actor, "wrong password", PASSWORD)
    assert caught.value.field == "current_password"


def test_a_reset_link_works_once_and_a_forged_one_never(db):
    with db.sessions.begin() as s:
        users.add_user(s, operator(), "new@example.org", role=COMMS)
        assert users.authenticate(s, "new@example.org", "") is None  # no password yet
        token = users.reset_token(s, operator(), "new@example.org", SECRET)
    with db.sessions.begin() as s:
        users.reset_password(s, token, PASSWORD, SECRET)
    with db.sessions.begin() as s:
        assert users.authenticate(s, "new@example.org", PASSWORD).role == COMMS
        for bad in (token, token[:-2] + "xx", "garbage"):
            with pytest.raises(UserError) as caught:
                users.reset_password(s, bad, "another long password", SECRET)
            assert caught.value.code == "invalid_link"
        fresh = users.reset_token(s, operator(), "new@example.org", SECRET)
        with pytest.raises(UserError):
            users.user_for_reset(s, fresh, "another-secret-key-of-enough-length")


def test_tokens_are_stored_hashed_scoped_and_revocable(db):
    with db.sessions.begin() as s:
        users.add_user(s, operator(), "cy@example.org", role=COMMS)
        plain, token = users.create_token(s, operator(), "cy@example.org", "website CMS")
        viewer_plain, _ = users.create_token(s, operator(), "cy@example.org", "dashboard", VIEWER)
        with pytest.raises(UserError):
            users.create_token(s, operator(), "cy@example.org", "too much", ADMIN)
    with db.sessions.begin() as s:
        assert plain not in json.dumps(users.list_tokens(s, operator()))
        assert users.actor_for_token(s, plain) == Actor("cy@example.org", COMMS, 1, "api")
        assert users.actor_for_token(s, viewer_plain).role == VIEWER
        assert users.actor_for_token(s, plain + "x") is None
        assert users.actor_for_token(s, "Bearer nonsense") is None
        users.revoke_token(s, operator(), token["id"])
    with db.sessions.begin() as s:
        assert users.actor_for_token(s, plain) is None
        assert users.actor_for_token(s, viewer_plain) is not None
        users.deactivate(s, operator(), "cy@example.org")
    with db.sessions.begin() as s:
        assert users.actor_for_token(s, viewer_plain) is None
        with pytest.raises(NotFound):
            users.revoke_token(s, operator(), 999)


def test_every_change_is_in_the_audit_log_with_who_made_it(db):
    admin = operator()
    with db.sessions.begin() as s:
        users.add_user(s, admin, "cy@example.org", role=COMMS)
        users.set_role(s, admin, "cy@example.org", VIEWER)
        users.create_token(s, admin, "cy@example.org", "dash", VIEWER)
    with db.sessions.begin() as s:
        log = audit.entries(s, admin)
        assert [e["action"] for e in log] == ["token.create", "user.role", "user.add"]
        assert {e["actor"] for e in log} == {admin.name} and {e["via"] for e in log} == {"cli"}
        assert log[1]["detail"] == {"email": "cy@example.org", "from": COMMS, "to": VIEWER}
        assert [e["action"] for e in audit.entries(s, admin, action="user")] == ["user.role", "user.add"]
        assert [e["action"] for e in audit.entries(s, admin, before=log[1]["id"])] == ["user.add"]


def test_the_cli_adds_the_first_admin_and_prints_a_password_link(run_cli):
    result = run_cli("users", "add", "ada@example.org", "--role", "admin", "--name", "Ada")
    assert result.exit_code == 0, result.output
    assert "added ada@example.org (admin)" in result.output and "/reset/" in result.output
    result = run_cli("users", "add", "cy@example.org", "--role", "comms", "--password-stdin", "--json",
                     input=PASSWORD + "\n")
    assert json.loads(result.output)["password_link"] is None
    result = run_cli("tokens", "create", "cy@example.org", "--name", "cms", "--json")
    assert json.loads(result.output)["token"].startswith("dst_")
    result = run_cli("users", "role", "ada@example.org", "viewer")
    assert result.exit_code == 1 and "last admin" in result.output
    log = json.loads(run_cli("audit", "--json").output)
    assert [e["action"] for e in log][:2] == ["token.create", "user.add"]
