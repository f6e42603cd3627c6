"""`distribute send`, `campaigns` and `stats` from the command line, in the embedded mode."""

import email
import json
import os
import signal
import subprocess
import sys
import time
from email import policy
from pathlib import Path

import pytest
import yaml
from sqlalchemy import update

from conftest import REPO
from distribute.models import Campaign, utcnow
from counter_helpers import counters_exact_after  # noqa: F401  (autouse: counters equal a recount after each test)


@pytest.fixture
def ready(run_cli):
    assert run_cli("contacts", "import", REPO / "samples" / "contacts.csv", "--kind", "journalist").exit_code == 0
    assert run_cli("release", "add", REPO / "samples" / "release.md").exit_code == 0
    assert run_cli("segments", "add", "rights", "--where", 'beat = "human rights"').exit_code == 0
    return run_cli


def test_dry_run_queues_nothing(ready, tmp_path):
    out = json.loads(ready("send", "1", "--to", "rights", "--dry-run", "--json").output)
    assert out["recipients"] == 4 and len(out["sample"]) == 4
    assert json.loads(ready("campaigns", "list", "--json").output) == []
    assert not (tmp_path / "outbox").exists()


def test_send_then_stats_and_list(ready, tmp_path):
    result = ready("send", "1", "--to", "rights", "--json")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    assert stats["state"] == "sent" and stats["counts"]["sent"] == 4 and stats["recipients"] == 4
    assert set(stats) >= {"first_sent_at", "last_sent_at", "send_rate_per_second", "domains", "last_errors"}
    files = list((tmp_path / "outbox").rglob("*.eml"))
    assert len(files) == 4
    msg = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert msg["X-Distribute-Delivery"] == files[0].stem
    listed = json.loads(ready("campaigns", "list", "--json").output)
    assert [(c["id"], c["state"], c["recipients"]) for c in listed] == [(1, "sent", 4)]
    assert json.loads(ready("stats", "1", "--json").output)["counts"] == stats["counts"]
    again = ready("send", "1", "--to", "rights")
    assert again.exit_code == 1 and "already sends this release" in again.output
    assert "(pass --again to send a second campaign anyway)" in again.output  # the CLI words its own hint
    entries = json.loads(ready("audit", "--json").output)
    assert [e["action"] for e in entries if e["action"].startswith("campaign.")] == ["campaign.create"]
    assert entries[0]["actor"].startswith("operator:") and entries[0]["via"] == "cli"


def test_test_send_goes_only_to_the_test_addresses(ready, tmp_path):
    stats = json.loads(ready("send", "1", "--test", "Me@Example.ORG", "--json").output)
    assert stats["test"] is True and stats["recipients"] == 1
    [path] = (tmp_path / "outbox").rglob("*.eml")
    assert email.message_from_bytes(path.read_bytes(), policy=policy.default)["To"] == "Me@example.org"


def test_scheduled_send_waits(ready):
    result = ready("send", "1", "--to", "rights", "--at", "2099-01-01T09:00:00+00:00")
    assert result.exit_code == 0 and "scheduled for 2099-01-01 09:00 UTC" in result.output
    assert json.loads(ready("campaigns", "show", "1", "--json").output)["state"] == "scheduled"
    assert ready("campaigns", "cancel", "1").exit_code == 0
    assert json.loads(ready("campaigns", "show", "1", "--json").output)["state"] == "cancelled"


@pytest.mark.parametrize("args, message", [
    (["--to", "nope"], "unknown segment or list 'nope'"),
    (["--to", "rights", "--at", "yesterday"], "'yesterday' is not a time: write it as"),
    (["--to", "rights", "--variant", "supporter", "--at", "2020-01-01T00:00:00Z"], "is in the past"),
])
def test_bad_sends_are_refused(ready, args, message):
    result = ready("send", "1", *args)
    assert result.exit_code != 0 and message in result.output
    assert json.loads(ready("campaigns", "list", "--json").output) == []


def test_compose_file_has_the_production_services():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "worker", "scheduler", "mailcatcher"} <= set(services)
    assert services["worker"]["command"][:4] == ["celery", "-A", "worker", "worker"]
    assert services["scheduler"]["command"][:4] == ["celery", "-A", "worker", "beat"]
    assert "version" not in compose  # the Compose Specification has none
    # `docker-compose config` itself, with the secret the file requires: tests/test_compose.py.


# --- commands say what happened, and never hang -----------------------------------------------

def test_resuming_a_campaign_whose_start_is_ahead_returns_at_once(ready):
    assert ready("send", "1", "--to", "rights", "--at", "2099-01-01T09:00:00+00:00").exit_code == 0
    assert ready("campaigns", "pause", "1").exit_code == 0
    started = time.monotonic()
    result = ready("campaigns", "resume", "1")
    assert time.monotonic() - started < 10
    assert result.exit_code == 0 and "starts at 2099-01-01 09:00 UTC while `distribute run` runs" in result.output


def test_a_send_that_ends_paused_exits_non_zero_and_says_why(ready, smtp_server, monkeypatch):
    smtp_server.refuse(to=lambda a: True, code=554, text="5.7.1 rejected by policy")  # blocked: never suppresses
    monkeypatch.setenv("DISTRIBUTE_SMTP_URL", smtp_server.url)
    monkeypatch.setenv("DISTRIBUTE_BREAKER_MIN_SAMPLE", "2")
    result = ready("send", "1", "--to", "rights")
    assert result.exit_code == 1, result.output
    assert "campaign 1 paused: circuit breaker:" in result.output
    json_result = ready("send", "1", "--to", "rights", "--again", "--json")
    assert json_result.exit_code == 1 and json.loads(json_result.output)["state"] == "paused"


def test_distribute_run_says_when_each_campaign_starts_and_finishes(ready, tmp_path, db):
    env = {**os.environ, "DISTRIBUTE_DATABASE_URL": db.url,
           "DISTRIBUTE_SECRET_KEY": "test-secret-key-for-distribute-tests", "PYTHONUNBUFFERED": "1"}
    env.pop("DISTRIBUTE_BROKER_URL", None)
    # Due once `run` serves, however long either command takes to start on a busy machine: a
    # time that has just passed when `send` reads it means now, and `send` would send it itself.
    at = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() + 3600))
    assert ready("send", "1", "--to", "rights", "--at", at).exit_code == 0
    log = tmp_path / "run.log"
    with log.open("w") as out:
        proc = subprocess.Popen([str(Path(sys.executable).with_name("distribute")), "run"], cwd=tmp_path, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while "serving scheduled campaigns" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.2)
            with db.engine.begin() as conn:  # the hour has passed
                conn.execute(update(Campaign).where(Campaign.id == 1).values(scheduled_at=utcnow()))
            while "campaign 1 sent" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
    text = log.read_text()
    assert "campaign 1 started: 4 recipients" in text or "campaign 1 sent" in text, text
    assert "campaign 1 sent: 4 sent" in text, text
