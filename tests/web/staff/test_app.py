"""The staff app's guard rails through Flask's test client: a session on every page, CSRF on
every form, the content policy, the error pages."""

from __future__ import annotations

import re

import pytest

from staff_helpers import PASSWORD, staff_settings, truncate


@pytest.fixture
def client(pg_url, tmp_path):
    from distribute.web.staff import create_app

    truncate(pg_url)
    app = create_app(staff_settings(pg_url, tmp_path))
    yield app.test_client(), app
    app.extensions["distribute_staff"].engine.dispose()


def _token(html: bytes) -> str:
    return re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1).decode()


def _add_user(app, role="comms", email="c@example.org"):
    from distribute.services import users
    from distribute.services.actor import operator

    with app.extensions["distribute_staff"].sessions.begin() as session:
        users.add_user(session, operator(), email, role=role, password=PASSWORD)
    return email


def test_every_page_but_sign_in_needs_a_session(client):
    c, _ = client
    assert c.get("/").status_code == 302 and "/login" in c.get("/").headers["Location"]
    assert c.get("/login").status_code == 200
    assert c.get("/healthz").status_code == 200


def test_a_post_without_the_csrf_token_is_refused(client):
    c, app = client
    email = _add_user(app)
    refused = c.post("/login", data={"email": email, "password": PASSWORD})
    assert refused.status_code == 400 and b"did not come from this site" in refused.data
    assert c.get("/").status_code == 302  # not signed in
    token = _token(c.get("/login").data)
    assert c.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token}).status_code == 302
    assert c.get("/").status_code == 200
    # signed in, a form posted without the token (a forged cross-site POST) is refused too
    assert c.post("/logout").status_code == 400
    assert c.get("/").status_code == 200


def test_pages_carry_a_strict_content_policy_and_secure_cookies(client, pg_url, tmp_path):
    c, _ = client
    response = c.get("/login")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "http" not in policy
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie  # http staff URL

    from distribute.web.staff import create_app

    app = create_app(staff_settings(pg_url, tmp_path).model_copy(update={"staff_url": "https://staff.example.org"}))
    assert "Secure" in app.test_client().get("/login").headers["Set-Cookie"]
    app.extensions["distribute_staff"].engine.dispose()


def test_an_unknown_page_is_a_404_page_and_an_unknown_api_path_json(client):
    c, _ = client
    assert c.get("/nowhere").status_code in (302, 404)
    response = c.get("/api/v1/nowhere")
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
