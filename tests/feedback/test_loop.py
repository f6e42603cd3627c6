"""The whole feedback loop: a campaign sent over SMTP, then opens, clicks, an unsubscribe, a
bounce refused in the SMTP session, a DSN and an ARF complaint from the bounce mailbox, and
`distribute stats --json` showing each, per recipient and in totals."""

from __future__ import annotations

import datetime as dt
import json
import mailbox

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from conftest import REPO
from distribute.cli import cli
from distribute.config import Settings
from distribute.models import Delivery, Suppression
from distribute.web import create_app
from web_helpers import BASE, Sent, path
from counter_helpers import counters_exact_after, forced  # noqa: F401  (autouse: counters equal a recount after each test)

OPENER = "j.okafor@globalwire.example"      # opens (person and Gmail's proxy), clicks, unsubscribes
REFUSED = "sofia.reyes@eldiario-sur.example"  # 550 5.1.1 in the SMTP session
DSN = "h.ali@capitolreport.example"          # accepted, then a DSN arrives in the mailbox
COMPLAINER = "rania.k@levant-daily.example"


def _report(to: str, subject: str, report_type: str, human: str, machine_type: str, machine: str,
            original_headers: str) -> bytes:
    """A multipart/report (RFC 6522) as a receiving MTA or a feedback loop writes it."""
    return (
        f"From: MAILER-DAEMON@mx.example\nTo: {to}\nSubject: {subject}\nMIME-Version: 1.0\n"
        f'Content-Type: multipart/report; report-type={report_type}; boundary="b1"\n\n'
        f"--b1\nContent-Type: text/plain\n\n{human}\n"
        f"--b1\nContent-Type: {machine_type}\n\n{machine}\n"
        f"--b1\nContent-Type: text/rfc822-headers\n\n{original_headers.strip()}\n\n--b1--\n"
    ).encode()


def _dsn(to: str, original_headers: str, recipient: str, status: str, diagnostic: str) -> bytes:
    return _report(to, "Undelivered Mail Returned to Sender", "delivery-status",
                   "Your message could not be delivered.", "message/delivery-status",
                   f"Reporting-MTA: dns; mx.capitolreport.example\n\nFinal-Recipient: rfc822; {recipient}\n"
                   f"Action: failed\nStatus: {status}\nDiagnostic-Code: smtp; {diagnostic}\n", original_headers)


def _arf(original: bytes, recipient: str, return_path: str) -> bytes:
    # The mailbox provider quotes the message as it was delivered: with the Return-Path its MTA
    # added from our envelope sender (RFC 5321 4.4), which carries the signed VERP token.
    return _report("fbl-reports@example.org", "Abuse report", "feedback-report", "This is an email abuse report.",
                   "message/feedback-report",
                   f"Feedback-Type: abuse\nUser-Agent: ExampleFBL/1.0\nVersion: 1\nOriginal-Rcpt-To: {recipient}\n",
                   f"Return-Path: <{return_path}>\n"
                   + original.split(b"\r\n\r\n", 1)[0].decode().replace("\r\n", "\n"))


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_feedback_from_every_source_reaches_stats(db, smtp_server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {"DISTRIBUTE_DATABASE_URL": db.url, "DISTRIBUTE_SECRET_KEY": "test-secret-key-for-distribute-tests", "DISTRIBUTE_BASE_URL": BASE,
           "DISTRIBUTE_SMTP_URL": smtp_server.url}

    def run(*args):
        result = CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    run("contacts", "import", REPO / "samples" / "contacts.csv", "--kind", "journalist")
    run("release", "add", REPO / "samples" / "release.md")
    run("segments", "add", "rights", "--where", 'beat = "human rights"')
    smtp_server.refuse(to=REFUSED, code=550, text="5.1.1 <sofia.reyes@eldiario-sur.example>: Recipient address rejected: User unknown")
    run("send", "1", "--to", "rights")
    received = {r.recipients[0]: r for r in smtp_server.received}
    assert REFUSED not in received and {OPENER, DSN, COMPLAINER} <= set(received)
    sent = Sent({address: r.message for address, r in received.items()})

    # Opens and clicks a while after delivery (a scanner fetches within seconds).
    with db.sessions.begin() as s:
        forced(s, update(Delivery).where(Delivery.sent_at.is_not(None))
               .values(sent_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)))
    settings = Settings(database_url=db.url, secret_key="test-secret-key-for-distribute-tests", base_url=BASE)
    app = create_app(settings, buffered=False)
    state = app.extensions["distribute"]
    client = app.test_client()
    client.get(path(sent.pixel(OPENER)), headers={"User-Agent": "Mozilla/5.0 (Macintosh) Thunderbird/128.0"},
               environ_base={"REMOTE_ADDR": "198.51.100.23"})
    client.get(path(sent.pixel(OPENER)), headers={"User-Agent": "Mozilla/5.0 (via ggpht.com GoogleImageProxy)"})
    client.get(path(sent.pixel(COMPLAINER)), headers={"User-Agent": "Mozilla/5.0"}, environ_base={"REMOTE_ADDR": "17.1.2.3"})
    assert client.get(path(sent.clicks(OPENER)[0])).status_code == 302
    state.events.flush()
    assert client.post(path(sent.unsubscribe(OPENER)), data={"List-Unsubscribe": "One-Click"}).status_code == 200
    state.events.stop()
    state.engine.dispose()

    # The bounce mailbox: a DSN sent back to the VERP return path, an ARF complaint quoting our
    # headers, and a forged DSN naming an address we mailed but carrying a token we never signed.
    box = mailbox.Maildir(tmp_path / "bounces", create=True)
    dsn_headers = received[DSN].data.split(b"\r\n\r\n", 1)[0].decode()
    box.add(_dsn(received[DSN].sender, dsn_headers, DSN, "5.1.1", "550 5.1.1 <h.ali@capitolreport.example>... User unknown"))
    box.add(_arf(received[COMPLAINER].data, COMPLAINER, received[COMPLAINER].sender))
    forged_to = received[OPENER].sender.split("+")[0] + "+forged.token@" + received[OPENER].sender.split("@")[1]
    box.add(_dsn(forged_to, "Subject: hello\n", OPENER, "5.1.1", "550 5.1.1 user unknown"))
    report = json.loads(run("bounces", "process", tmp_path / "bounces", "--json"))
    assert (report["messages"], report["recorded"], report["unmatched"]) == (3, 2, 1)
    again = json.loads(run("bounces", "process", tmp_path / "bounces", "--json"))
    assert again["recorded"] == 0  # Maildir messages are moved to cur/ once read; nothing twice

    stats = json.loads(run("stats", "1", "--json"))
    assert stats["counts"]["sent"] == 1 and stats["counts"]["bounced"] == 2 and stats["counts"]["complained"] == 1
    f = stats["feedback"]
    assert (f["opened"], f["opened_human"], f["opened_machine_only"], f["opens"]) == (2, 1, 1, 3)
    assert (f["clicked"], f["clicks"], f["unsubscribed"], f["complained"]) == (1, 1, 1, 1)
    assert f["bounced"] == {"hard": 2, "soft": 0, "block": 0}
    assert sum(link["clicks"] for link in stats["links"]) == 1
    people = {r["email"]: r for r in stats["recipients_detail"]}
    assert people[OPENER]["human_opens"] == 1 and people[OPENER]["clicks"] == 1 and people[OPENER]["unsubscribed_at"]
    assert people[REFUSED]["bounce"] == "hard" and "5.1.1" in people[REFUSED]["reply"]
    assert people[DSN]["state"] == "bounced" and [e["source"] for e in people[DSN]["events"]] == ["dsn"]
    assert people[COMPLAINER]["state"] == "complained" and people[COMPLAINER]["human_opens"] == 0
    with db.sessions() as s:
        suppressed = dict(s.execute(select(Suppression.email_key, Suppression.source)).all())
    assert suppressed == {OPENER: "unsubscribe", REFUSED: "hard-bounce", DSN: "hard-bounce", COMPLAINER: "complaint"}
    (tmp_path / "stats.json").write_text(json.dumps(stats, indent=2))
