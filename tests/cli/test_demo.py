import email
import json
from email import policy


def test_demo_runs_the_main_job_and_can_run_again(run_cli, tmp_path):
    first = run_cli("demo")
    assert first.exit_code == 0, first.output
    assert "mideast-rights: 7 recipients" in first.output
    assert "contacts.csv: 10 imported" in first.output
    msg = email.message_from_bytes((tmp_path / "preview" / "journalist.eml").read_bytes(), policy=policy.default)
    assert msg["To"] == "Amira Haddad <amira.haddad@levant-daily.example>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Dear María," in (tmp_path / "preview" / "supporter.html").read_text()
    # Sent through the embedded Celery worker into the file outbox, one file per recipient.
    sent = sorted((tmp_path / "outbox").rglob("*.eml"))
    assert len(sent) == 12
    recipients = {email.message_from_bytes(p.read_bytes(), policy=policy.default)["To"].addresses[0].addr_spec for p in sent}
    assert len(recipients) == 12 and "maria.lopez@example.com" in recipients
    assert "p.nakamura@asiapacific-news.example" not in recipients  # tagged do-not-pitch
    assert "7 recipients: sent 7" in first.output and "5 recipients: sent 5" in first.output
    # it ends pointing at the staff app, with an admin and the link where they set a password
    assert "an admin admin@example.org was added: set their password at http://localhost:8001/reset/" in first.output
    # what it did went through the services, recorded as the local operator's
    actions = [e["action"] for e in json.loads(run_cli("audit", "--json").output)]
    assert actions.count("campaign.create") == 2 and actions.count("release.add") == 1

    again = run_cli("demo")
    assert again.exit_code == 0, again.output
    assert "contacts.csv: 0 imported, 0 updated, 10 unchanged" in again.output
    assert "already sent as campaign 1" in again.output
    assert "/reset/" not in again.output and "distribute users reset EMAIL" in again.output
    assert len(list((tmp_path / "outbox").rglob("*.eml"))) == 12
    assert run_cli("release", "list", "--json").output.count('"slug"') == 1
