"""API authentication: bearer tokens, refused when missing, unknown or revoked; the OpenAPI
document."""

from __future__ import annotations

from distribute.services import users
from distribute.services.actor import operator


def test_the_openapi_document_is_served_without_a_token(api):
    response = api.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.") and "/api/v1/me" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert spec["paths"]["/api/v1/me"]["get"]["x-permission"] == "read"


def test_a_token_acts_as_its_user_with_its_role(api):
    token = api.token("comms")
    response = api.get("/me", token=token)
    assert response.status_code == 200
    assert response.json["role"] == "comms" and response.json["name"].startswith("api-comms")


def test_no_token_an_unknown_one_or_a_revoked_one_is_a_401_with_a_code(api):
    token = api.token("admin")
    with api.sessions.begin() as session:
        token_id = users.list_tokens(session, operator())[0]["id"]
        users.revoke_token(session, operator(), token_id)
    for headers in ({}, {"Authorization": "Bearer dst_unknown"}, {"Authorization": f"Bearer {token}"},
                    {"Authorization": f"Basic {token}"}):
        response = api.get("/me", headers=headers)
        assert response.status_code == 401, headers
        assert response.json["error"]["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_docs_page_lists_each_operation_with_its_permission(api):
    page = api.get("/docs")
    assert page.status_code == 200 and page.content_type.startswith("text/html")
    html = page.data.decode()
    assert "<code>/api/v1/me</code>" in html and "The user and role this token acts as." in html
    assert "cdn" not in html.lower() and "https://" not in html  # nothing from another host
