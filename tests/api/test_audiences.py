"""The audiences API with tokens: contacts, a CSV import as a job, segments, the suppression list."""

from __future__ import annotations

import io
import time


def wait_for(api, token, job_id):
    for _ in range(200):  # a bound, not a timing assertion: the import of 4 rows takes milliseconds
        job = api.get(f"/audiences/imports/{job_id}", token=token).json
        if job["state"] != "running":
            return job
        time.sleep(0.05)
    raise AssertionError(f"import {job_id} still running: {job}")


def test_import_a_csv_search_and_read_a_contact(api):
    comms = api.token("comms")
    data = {"kind": "journalist", "list": "Desk", "tags": "climate, water",
            "file": (io.BytesIO(b"email,name,outlet\nann@example.org,Ann Lee,Daily Post\nbroken,X,\n"
                                b"bob@example.org,Bob Stone,Weekly\n"), "desk.csv")}
    started = api.post("/audiences/contacts/import", token=comms, data=data, content_type="multipart/form-data")
    assert started.status_code == 202, started.json
    job = wait_for(api, comms, started.json["id"])
    assert job["state"] == "done" and job["file"] == "desk.csv" and job["percent"] == 100
    assert (job["report"]["imported"], job["report"]["skipped"]) == (2, [{"line": 3, "reason": job["report"]["skipped"][0]["reason"]}])

    viewer = api.token("viewer")
    found = api.get("/audiences/contacts?q=daily", token=viewer).json
    assert [c["email"] for c in found["contacts"]] == ["ann@example.org"] and found["next"] is None
    assert found["contacts"][0]["tags"] == ["climate", "water"]
    page = api.get("/audiences/contacts?limit=1&list=Desk", token=viewer).json
    assert [c["email"] for c in page["contacts"]] == ["bob@example.org"] and page["next"]
    rest = api.get(f"/audiences/contacts?limit=1&list=Desk&before={page['next']}", token=viewer).json
    assert [c["email"] for c in rest["contacts"]] == ["ann@example.org"] and rest["next"] is None
    one = api.get(f"/audiences/contacts/{page['contacts'][0]['id']}", token=viewer).json
    assert one["lists"][0]["name"] == "Desk" and one["deliveries"] == [] and one["suppression"] is None
    assert api.get("/audiences/lists", token=viewer).json[0]["members"] == 2


def test_roles_per_endpoint(api):
    viewer, comms = api.token("viewer"), api.token("comms")
    refused = api.post("/audiences/contacts", token=viewer, json={"email": "x@example.org", "kind": "journalist"})
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"
    made = api.post("/audiences/contacts", token=comms, json={"email": "X@Example.org", "kind": "journalist",
                                                               "name": "Xu", "tags": ["energy"]})
    assert made.status_code == 201 and made.json["email"] == "X@example.org" and made.json["created"] is True
    assert api.post("/audiences/segments", token=viewer, json={"name": "s", "rule": "tag = energy"}).status_code == 403
    for method, path, body in (("GET", "/audiences/suppressions", None),
                               ("POST", "/audiences/suppressions", {"emails": ["a@example.org"], "reason": "r"}),
                               ("DELETE", "/audiences/suppressions/a@example.org", None)):
        response = api.call(method, path, token=comms, json=body)
        assert response.status_code == 403, (method, path)


def test_segments_check_count_create_list(api):
    comms, admin = api.token("comms"), api.token("admin")
    api.post("/audiences/contacts", token=comms, json={"email": "a@example.org", "kind": "journalist", "beat": "climate"})
    api.post("/audiences/contacts", token=comms, json={"email": "b@example.org", "kind": "journalist", "beat": "climate"})
    bad = api.post("/audiences/segments/check", token=comms, json={"rule": "beat = climate and\nbeats = x"})
    assert bad.status_code == 400
    assert {k: bad.json["error"][k] for k in ("code", "field", "line", "column")} == {
        "code": "bad_rule", "field": "rule", "line": 2, "column": 1}
    good = api.post("/audiences/segments/check", token=comms, json={"rule": "beat = climate"}).json
    assert (good["matched"], good["recipients"]) == (2, 2)

    made = api.post("/audiences/segments", token=comms, json={"name": "climate", "rule": "beat = climate"})
    assert made.status_code == 201 and made.json["recipients"] == 2
    again = api.post("/audiences/segments", token=comms, json={"name": "climate", "rule": "kind = supporter"})
    assert again.status_code == 409 and again.json["error"]["field"] == "name"

    added = api.post("/audiences/suppressions", token=admin, json={"emails": ["b@example.org", "nope"], "reason": "asked"})
    assert added.json["added"] == ["b@example.org"] and added.json["invalid"][0]["value"] == "nope"
    counted = api.get("/audiences/segments/climate/count", token=comms).json
    assert (counted["recipients"], counted["suppressed"]) == (1, 1)
    assert [s["name"] for s in api.get("/audiences/segments", token=comms).json] == ["climate"]
    assert [s["email"] for s in api.get("/audiences/suppressions", token=admin).json] == ["b@example.org"]
    removed = api.delete("/audiences/suppressions/b@example.org", token=admin)
    assert removed.status_code == 200 and removed.json["contact_status"] == "active"
    assert api.get("/audiences/suppressions", token=admin).json == []


def test_the_endpoints_are_documented_with_their_permission(api):
    paths = api.get("/openapi.json").json["paths"]
    assert paths["/api/v1/audiences/suppressions"]["get"]["x-permission"] == "suppress"
    assert paths["/api/v1/audiences/contacts/import"]["post"]["x-permission"] == "edit"
    assert paths["/api/v1/audiences/segments/check"]["post"]["x-permission"] == "read"
