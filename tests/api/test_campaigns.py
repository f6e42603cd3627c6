"""/api/v1/campaigns with tokens, on PostgreSQL: dry run → create → read → stats → recipients →
pause and cancel; a viewer's token reads but cannot send."""

from __future__ import annotations

from sqlalchemy import insert

from distribute.audience.segments import add_segment
from distribute.models import Contact, Release


def _world(api):
    with api.sessions.begin() as s:
        s.execute(insert(Contact), [{"email": f"j{i}@news.example", "email_key": f"j{i}@news.example",
                                     "kind": "journalist", "attributes": {}} for i in range(3)])
        add_segment(s, "press", "kind = journalist")
        s.add(Release(slug="r", title="T", body="B\n", source_format="markdown", language="en",
                      contacts=[{"email": "p@example.org"}]))


def test_dry_run_create_read_stats_recipients_pause_cancel(api):
    _world(api)
    comms = api.token("comms")
    body = {"release": "r", "targets": ["press"], "at": "2099-01-01T09:00:00+00:00"}
    dry = api.post("/campaigns", token=comms, json=body | {"dry_run": True})
    assert dry.status_code == 200 and (dry.json["recipients"], dry.json["already_have"]) == (3, 0)
    assert api.get("/campaigns", token=comms).json == {"campaigns": []}
    created = api.post("/campaigns", token=comms, json=body)
    assert created.status_code == 201, created.json
    assert created.json["state"] == "scheduled" and created.json["due"] is False and created.json["recipients"] == 3
    cid = created.json["id"]
    again = api.post("/campaigns", token=comms, json=body)
    assert again.status_code == 409 and again.json["error"]["code"] == "already_sent"
    assert again.json["error"]["campaign"] == cid  # the campaign that already sends it
    assert api.get(f"/campaigns/{cid}", token=comms).json["audience"]["segments"] == ["press"]
    assert api.get(f"/campaigns/{cid}/stats", token=comms).json["campaign"] == cid
    assert api.get(f"/campaigns/{cid}/recipients", token=comms).json == {"recipients": [], "next_after": None}
    assert api.post(f"/campaigns/{cid}/pause", token=comms).json["state"] == "paused"
    assert api.post(f"/campaigns/{cid}/pause", token=comms).status_code == 409
    assert api.post(f"/campaigns/{cid}/cancel", token=comms).json["state"] == "cancelled"
    assert api.get("/campaigns/999", token=comms).status_code == 404
    bad = api.post("/campaigns", token=comms, json={"release": "r", "targets": ["press"], "at": "whenever"})
    assert bad.status_code == 400 and bad.json["error"]["field"] == "at"


def test_a_viewer_token_reads_but_cannot_send(api):
    _world(api)
    viewer = api.token("viewer")
    assert api.post("/campaigns", token=viewer, json={"release": "r", "targets": ["press"], "dry_run": True}).status_code == 200
    refused = api.post("/campaigns", token=viewer, json={"release": "r", "targets": ["press"]})
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"
    assert api.get("/campaigns", token=viewer).json == {"campaigns": []}
    spec = api.get("/openapi.json").json
    assert spec["paths"]["/api/v1/campaigns/{campaign_id}/cancel"]["post"]["x-permission"] == "send"
