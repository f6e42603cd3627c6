"""The releases API with tokens against PostgreSQL: create (JSON and upload), list, get, update,
check, preview, test send, remove; roles per endpoint; errors as JSON with the line at fault."""

from __future__ import annotations

import io

from conftest import DATA, REPO

SAMPLE = (REPO / "samples" / "release.md").read_text()


def test_create_check_preview_update_and_remove(api):
    comms = api.token("comms")
    made = api.post("/releases/", token=comms, json={"text": SAMPLE})
    assert made.status_code == 201, made.json
    slug = made.json["slug"]
    assert made.json["outcome"] == "stored"
    assert api.post("/releases/", token=comms, json={"text": SAMPLE}).json["outcome"] == "identical"

    listed = api.get("/releases/?limit=10", token=comms).json
    assert [(r["slug"], r["state"]) for r in listed] == [(slug, "draft")]
    got = api.get(f"/releases/{made.json['id']}", token=comms).json
    assert got["slug"] == slug and got["contacts"][0]["email"] == "press@example.org" and got["state"] == "draft"

    checked = api.get(f"/releases/{slug}/check?variant=journalist", token=comms).json
    assert checked["ok"] is True and checked["variants"] == ["journalist"]
    shown = api.get(f"/releases/{slug}/preview?variant=supporter", token=comms).json
    email = shown["variants"][0]
    assert email["variant"] == "supporter" and "<html" in email["html"].lower() and email["text"]
    assert dict(email["headers"])["Subject"] == email["subject"]
    missing = api.get(f"/releases/{slug}/preview?contact=nobody@example.org", token=comms)
    assert missing.status_code == 404 and missing.json["error"]["field"] == "contact"

    changed = api.call("PUT", f"/releases/{slug}", token=comms, json={"text": SAMPLE, "title": "A new headline"})
    assert changed.status_code == 200 and changed.json["outcome"] == "updated"
    assert api.get(f"/releases/{slug}", token=comms).json["title"] == "A new headline"
    assert api.delete(f"/releases/{slug}", token=comms).json == {"id": made.json["id"], "slug": slug, "removed": True}
    assert api.get(f"/releases/{slug}", token=comms).status_code == 404


def test_an_upload_and_its_errors_with_the_line(api):
    comms = api.token("comms")
    bad = api.post("/releases/upload", token=comms, content_type="multipart/form-data",
                   data={"file": (io.BytesIO(b"---\ntitle: T\nlanguage: English!\n---\nBody.\n"), "bad.md")})
    assert bad.status_code == 400
    assert bad.json["error"]["code"] == "unreadable" and bad.json["error"]["line"] == 3
    assert bad.json["error"]["message"].startswith("bad.md:3: ")
    pasted = DATA / "releases" / "pasted-no-title.txt"
    untitled = api.post("/releases/upload", token=comms, content_type="multipart/form-data",
                        data={"file": (io.BytesIO(pasted.read_bytes()), pasted.name)})
    assert untitled.status_code == 400 and untitled.json["error"]["field"] == "title"
    stored = api.post("/releases/upload", token=comms, content_type="multipart/form-data",
                      data={"file": (io.BytesIO(pasted.read_bytes()), pasted.name), "title": "Clinic closed"})
    assert stored.status_code == 201 and stored.json["title"] == "Clinic closed"
    assert api.post("/releases/", token=comms, json={"text": "x", "format": "docx"}).status_code == 422


def test_roles_per_endpoint(api):
    comms, viewer = api.token("comms"), api.token("viewer")
    slug = api.post("/releases/", token=comms, json={"text": SAMPLE}).json["slug"]
    assert api.get("/releases/", token=viewer).status_code == 200
    assert api.get(f"/releases/{slug}/check", token=viewer).status_code == 200
    for method, path, body in (("POST", "/releases/", {"text": SAMPLE}), ("PUT", f"/releases/{slug}", {"text": SAMPLE}),
                               ("DELETE", f"/releases/{slug}", None),
                               ("POST", f"/releases/{slug}/test", {"to": ["v@example.org"]})):
        refused = api.call(method, path, token=viewer, json=body)
        assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden", (method, path)
    assert api.get("/releases/").status_code == 401
    spec = api.client.get("/api/v1/openapi.json").json
    assert {"/api/v1/releases/", "/api/v1/releases/upload", "/api/v1/releases/{ref}/check",
            "/api/v1/releases/{ref}/preview", "/api/v1/releases/{ref}/test"} <= set(spec["paths"])
