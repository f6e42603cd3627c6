"""The public web app through Flask's test client: pixel, click, unsubscribe, preferences, web
version. (tests/web/test_server.py runs the same app behind gunicorn on a real socket.)"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
import json
import re
import secrets
import time

import pytest
from sqlalchemy import select, update

from conftest import REPO
from distribute.config import ConfigError, Settings
from distribute.models import Contact, Delivery, Event, Release, Suppression, WebhookToken
from distribute.stats.campaign import campaign_stats
from distribute.web import create_app
from web_helpers import BASE, path, respell, send_release, tamper
from counter_helpers import counters_exact_after, forced  # noqa: F401  (autouse: counters equal a recount after each test)

JOURNALIST = "j.okafor@globalwire.example"
OTHER = "sofia.reyes@eldiario-sur.example"


@pytest.fixture
def web(db, tmp_path):
    settings = Settings(database_url=db.url, secret_key="test-secret-key-for-distribute-tests", base_url=BASE,
                        outbox_dir=tmp_path / "outbox")
    app = create_app(settings, buffered=False)  # the test flushes the event buffer itself
    state = app.extensions["distribute"]
    yield app.test_client(), state
    state.events.stop()  # writes what a test left queued while its database still exists
    state.engine.dispose()


@pytest.fixture
def sent(run_cli, settings, tmp_path):
    return send_release(run_cli, tmp_path / "outbox", settings=settings)


def _delivery(db, address):
    with db.sessions() as s:
        return s.scalar(select(Delivery).where(Delivery.email == address))


def test_messages_carry_tracked_links_and_a_pixel(sent):
    clicks = sent.clicks(JOURNALIST)
    assert clicks and all(JOURNALIST not in link and "@" not in link for link in clicks)
    assert "https://example.org/reports/clinic-water" not in sent.html(JOURNALIST)
    assert sent.pixel(JOURNALIST).endswith(".gif")
    # The text part links through the same redirects as the HTML part.
    assert any(link in sent.text(JOURNALIST) for link in clicks)
    # Each recipient's links are their own.
    assert not set(clicks) & set(sent.clicks(OTHER))


def test_pixel_records_opens_and_tells_machines_apart(web, sent, db):
    client, state = web
    pixel = path(sent.pixel(JOURNALIST))
    with db.sessions.begin() as s:  # delivered a minute ago: not a scanner's instant fetch
        forced(s, update(Delivery).where(Delivery.email == JOURNALIST)
               .values(sent_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
    human = client.get(pixel, headers={"User-Agent": "Mozilla/5.0 (Windows NT 10.0) Thunderbird/128.0"},
                       environ_base={"REMOTE_ADDR": "203.0.113.77"})
    assert human.status_code == 200 and human.mimetype == "image/gif" and human.data.startswith(b"GIF89a")
    client.get(pixel, headers={"User-Agent": "Mozilla/5.0 (via ggpht.com GoogleImageProxy)"})
    client.get(pixel, headers={"User-Agent": "Mozilla/5.0"}, environ_base={"REMOTE_ADDR": "17.58.1.2"})  # Apple MPP
    assert state.events.flush() == 3
    d = _delivery(db, JOURNALIST)
    assert (d.opens, d.human_opens) == (3, 1) and d.first_human_open_at is not None
    with db.sessions() as s:
        events = s.scalars(select(Event).where(Event.delivery_id == d.id, Event.type == "opened").order_by(Event.id)).all()
    assert [e.data["machine"] for e in events] == [None, "gmail-proxy", "apple-mpp"]
    assert events[0].ip == "203.0.113.0"  # stored truncated
    # A forged pixel still answers with the image, and records nothing.
    assert client.get("/o/forged.gif").status_code == 200
    assert state.events.flush() == 0


def test_an_open_seconds_after_delivery_is_a_scanner(web, sent, db):
    client, state = web
    client.get(path(sent.pixel(OTHER)), headers={"User-Agent": "Mozilla/5.0 (Windows NT 10.0) Outlook"})
    state.events.flush()
    d = _delivery(db, OTHER)
    assert (d.opens, d.human_opens) == (1, 0)


def test_click_redirects_to_the_signed_link_and_is_recorded(web, sent, db):
    client, state = web
    link = sent.clicks(JOURNALIST)[0]
    response = client.get(path(link))
    assert response.status_code == 302
    target = response.headers["Location"]
    assert target.startswith("https://") and "press.example.org" not in target
    state.events.flush()
    d = _delivery(db, JOURNALIST)
    assert d.clicks == 1 and d.first_clicked_at is not None
    with db.sessions() as s:
        event = s.scalar(select(Event).where(Event.delivery_id == d.id, Event.type == "clicked"))
    assert event.data["url"] == target and event.source == "link"
    # A link checker's HEAD is answered but not counted.
    assert client.head(path(link)).status_code == 302
    assert state.events.flush() == 0
    client.get(path(link))
    client.get(path(sent.clicks(OTHER)[0]))
    state.events.flush()
    with db.sessions() as s:
        links = campaign_stats(s, 1)["links"]
    assert (links[0]["url"], links[0]["clicks"], links[0]["recipients"]) == (target, 3, 2)
    assert all(link["clicks"] == 0 for link in links[1:])


EVIL = ["//evil.test", "https:evil.test", "/\\evil.test", "\x00https://evil.test", " https://evil.test",
        "javascript:alert(1)", "https://evil.test", "%2F%2Fevil.test", "..%2F..%2Fevil.test", "\\\\evil.test"]


def test_edited_click_links_never_redirect_outside_the_campaign(web, sent):
    client, _ = web
    link = path(sent.clicks(JOURNALIST)[0])
    token = link.removeprefix("/c/")
    ref, campaign, n_sig = token.split(".", 2)
    n, signature = n_sig.split(".")
    allowed = {client.get(path(c)).headers["Location"] for c in sent.clicks(JOURNALIST)}
    for edited in (tamper(signature), respell(signature)):
        assert client.get(f"/c/{ref}.{campaign}.{n}.{edited}").status_code == 404
    tried = 0
    for evil in EVIL:
        candidates = [
            f"/c/{evil}", f"/c/{token}{evil}", f"/c/{evil}{token}", f"/c/{token}/{evil}",
            f"/c/{ref}.{campaign}.{n}.{tamper(signature)}", f"/c/{ref}.{campaign}.9{n_sig}", f"/c/{token}?url={evil}",
            f"/c/{token}#{evil}", f"/c/{token[:-2]}", f"/c/{ref}.{campaign}.99", f"/c/{ref}.{campaign}.-1.{n_sig}",
        ]
        for candidate in candidates:
            response = client.get(candidate)
            location = response.headers.get("Location")
            assert location is None or location in allowed, (candidate, location)
            assert response.status_code in (302, 404), candidate
            tried += 1
    assert tried == len(EVIL) * 11


def test_links_from_one_campaign_cannot_reach_another_campaigns_links(web, sent):
    client, state = web
    token = path(sent.clicks(JOURNALIST)[0]).removeprefix("/c/")
    ref = token.split(".")[0]
    # Signing a link number the campaign does not have still ends in a 404.
    forged = state.tokens.click_token(ref, "nosuchcampaign", 0)
    assert client.get(f"/c/{forged}").status_code == 404


def test_one_click_unsubscribe_post(web, sent, db):
    client, _ = web
    url = path(sent.unsubscribe(JOURNALIST))
    response = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and b"unsubscribed" in response.data
    with db.sessions() as s:
        assert s.scalar(select(Suppression.source).where(Suppression.email_key == JOURNALIST)) == "unsubscribe"
        assert s.scalar(select(Contact.status).where(Contact.email_key == JOURNALIST)) == "unsubscribed"
    assert _delivery(db, JOURNALIST).unsubscribed_at is not None
    # The mail client may send it twice: one event, still 200.
    assert client.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    with db.sessions() as s:
        assert len(s.scalars(select(Event).where(Event.type == "unsubscribed")).all()) == 1


def test_get_never_unsubscribes(web, sent, db):
    client, _ = web
    url = path(sent.unsubscribe(JOURNALIST))
    page = client.get(url)
    assert page.status_code == 200 and b"<form method=\"post\"" in page.data and b"Unsubscribe" in page.data
    with db.sessions() as s:
        assert s.scalar(select(Contact.status).where(Contact.email_key == JOURNALIST)) == "active"
        assert s.scalar(select(Suppression).where(Suppression.email_key == JOURNALIST)) is None
    done = client.post(url, data={"confirm": "yes"})
    assert done.status_code == 200 and b"You are unsubscribed" in done.data
    with db.sessions() as s:
        assert s.scalar(select(Contact.status).where(Contact.email_key == JOURNALIST)) == "unsubscribed"


def test_a_nul_in_the_path_is_a_404_before_any_query(web, sent):
    client, _ = web
    token = path(sent.unsubscribe(JOURNALIST)).removeprefix("/unsubscribe/")
    for url in ("/releases/%00", "/releases/press%00release", f"/unsubscribe/{token}%00", f"/preferences/%00{token}",
                "/c/%00"):
        response = client.get(url)
        assert response.status_code == 404 and b"This link does not work" in response.data, url
    assert client.post(f"/unsubscribe/{token}%00", data={"List-Unsubscribe": "One-Click"}).status_code == 404


def test_tampered_unsubscribe_token_is_a_404(web, sent, db):
    client, _ = web
    head, signature = path(sent.unsubscribe(JOURNALIST)).rsplit(".", 1)
    # A changed MAC, and the same MAC spelt another way (an unused bit of its base64 flipped).
    for edited in (tamper(signature), respell(signature)):
        assert client.post(f"{head}.{edited}", data={"List-Unsubscribe": "One-Click"}).status_code == 404
    assert client.get("/unsubscribe/whatever").status_code == 404
    with db.sessions() as s:
        assert s.scalar(select(Suppression)) is None


def test_journalist_preferences_opt_out_of_a_beat(web, sent, db):
    client, _ = web
    with db.sessions.begin() as s:
        s.execute(update(Contact).where(Contact.email_key == JOURNALIST).values(beat="human rights; climate"))
    url = path(sent.unsubscribe(JOURNALIST)).replace("/unsubscribe/", "/preferences/")
    page = client.get(url)
    assert page.status_code == 200 and b"climate" in page.data and b"human rights" in page.data
    saved = client.post(url, data={"keep": ["human rights"]})
    assert saved.status_code == 200 and b"Saved" in saved.data
    with db.sessions() as s:
        contact = s.scalar(select(Contact).where(Contact.email_key == JOURNALIST))
    assert contact.beat == "human rights" and contact.status == "active"
    everything = client.post(url, data={"all": "unsubscribe"})
    assert b"You are unsubscribed" in everything.data
    with db.sessions() as s:
        assert s.scalar(select(Contact.status).where(Contact.email_key == JOURNALIST)) == "unsubscribed"


def test_the_footer_links_to_the_preferences_page_as_well_as_to_unsubscribe(web, sent):
    client, _ = web
    preferences = sent.unsubscribe(JOURNALIST).replace("/unsubscribe/", "/preferences/")
    assert [link for link in sent.links(JOURNALIST) if "/preferences/" in link] == [preferences]
    assert preferences in sent.text(JOURNALIST)
    assert client.get(path(preferences)).status_code == 200


def test_web_version_is_404_until_sent_and_until_the_embargo_lifts(web, run_cli, db, tmp_path):
    client, _ = web
    assert run_cli("contacts", "import", "--kind", "journalist",
                   str(REPO / "samples" / "contacts.csv")).exit_code == 0
    assert run_cli("release", "add", str(REPO / "samples" / "release.md")).exit_code == 0
    with db.sessions() as s:
        slug = s.scalar(select(Release.slug))
    assert client.get(f"/releases/{slug}").status_code == 404  # not sent yet
    with db.sessions.begin() as s:
        s.execute(update(Release).values(embargo_until=dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)))
    assert run_cli("segments", "add", "rights", "--where", 'beat = "human rights"').exit_code == 0
    assert run_cli("send", "1", "--to", "rights").exit_code == 0
    assert client.get(f"/releases/{slug}").status_code == 404  # sent, but under embargo
    with db.sessions.begin() as s:
        s.execute(update(Release).values(embargo_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    page = client.get(f"/releases/{slug}")
    assert page.status_code == 200 and b"<h1>" in page.data
    assert client.get("/releases/no-such-release").status_code == 404


def _policy(response) -> dict[str, list[str]]:
    directives = [d.split() for d in response.headers["Content-Security-Policy"].split(";") if d.strip()]
    return {d[0]: d[1:] for d in directives}


def test_pages_carry_a_content_security_policy_that_fits_them_and_hsts(web, sent, db, tmp_path):
    client, _ = web
    with db.sessions.begin() as s:  # a release body may show images (Markdown)
        release = s.scalar(select(Release))
        release.body += "\n\n![The clinic](https://example.org/clinic.jpg)\n"
        slug = release.slug
    unsubscribe = path(sent.unsubscribe(JOURNALIST))
    pages = [unsubscribe, unsubscribe.replace("/unsubscribe/", "/preferences/"), f"/releases/{slug}", "/nowhere"]
    for url in pages:
        response = client.get(url)
        assert response.status_code in (200, 404) and response.mimetype == "text/html", url
        page, policy = response.get_data(as_text=True), _policy(response)
        assert policy["default-src"] == ["'none'"] and "script-src" not in policy  # no script runs, ever
        assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"]
        for tag in ("<script", "<link", "<iframe", "<object", "<embed", "@import", "url("):
            assert tag not in page, (url, tag)  # nothing the policy would block
        if "<style" in page or "style=" in page:
            assert policy["style-src"] == ["'unsafe-inline'"]
        for src in re.findall(r'<img[^>]* src="([^"]+)"', page):
            assert src.split(":", 1)[0] + ":" in policy["img-src"], (url, src)
        for action in re.findall(r'<form[^>]* action="([^"]+)"', page):
            assert action.startswith("/") and not action.startswith("//")  # form-action 'self'
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert 'src="https://example.org/clinic.jpg"' in client.get(f"/releases/{slug}").get_data(as_text=True)
    # HSTS only where the links are https: over http it would tell browsers nothing true.
    plain = create_app(Settings(database_url=db.url, secret_key="test-secret-key-for-distribute-tests", base_url="http://localhost:8000"),
                       buffered=False)
    answer = plain.test_client().get("/nowhere")
    assert "Strict-Transport-Security" not in answer.headers and _policy(answer)["default-src"] == ["'none'"]
    plain.extensions["distribute"].engine.dispose()


MAILGUN_KEY = "key-test-signing"


def _mailgun(ref: str, *, key: str = MAILGUN_KEY) -> bytes:
    payload = json.loads((REPO / "tests" / "data" / "webhooks" / "mailgun" / "failed_permanent.json").read_text())
    payload["event-data"]["user-variables"] = {"distribute_delivery": ref}
    timestamp, token = str(int(time.time())), "t" * 50
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    payload["signature"] = {"timestamp": timestamp, "token": token, "signature": signature}
    return json.dumps(payload).encode()


def test_esp_webhook_is_verified_recorded_once_and_suppresses(db, sent, tmp_path):
    settings = Settings(database_url=db.url, secret_key="test-secret-key-for-distribute-tests", base_url=BASE, mailgun_signing_key=MAILGUN_KEY)
    app = create_app(settings, buffered=False)
    client = app.test_client()
    ref = _delivery(db, JOURNALIST).ref
    headers = {"Content-Type": "application/json"}
    first = client.post("/webhooks/mailgun", data=_mailgun(ref), headers=headers)
    assert first.status_code == 200 and first.json["recorded"] == 1
    again = client.post("/webhooks/mailgun", data=_mailgun(ref), headers=headers)  # the provider retried
    assert again.status_code == 200 and again.json["duplicate"] == 1
    d = _delivery(db, JOURNALIST)
    assert d.state == "bounced" and d.bounce_kind == "hard"
    with db.sessions() as s:
        assert s.scalar(select(Suppression.source).where(Suppression.email_key == JOURNALIST)) == "hard-bounce"
        event = s.scalar(select(Event).where(Event.delivery_id == d.id, Event.type == "bounced"))
    assert event.source == "mailgun" and event.raw["event"] == "failed" and event.data["status"] == "5.1.1"
    forged = client.post("/webhooks/mailgun", data=_mailgun(_delivery(db, OTHER).ref, key="wrong"), headers=headers)
    assert forged.status_code == 400
    assert client.post("/webhooks/sendgrid", data=b"[]", headers=headers).status_code == 400  # no key set
    assert client.post("/webhooks/nosuch", data=b"{}").status_code == 404
    assert _delivery(db, OTHER).state == "sent"
    app.extensions["distribute"].engine.dispose()


REDIS_URL = "redis://127.0.0.1:6379/12"  # a database of its own on the shared Redis


def _mailgun_event(name: str, ref: str, token: str) -> dict:
    payload = json.loads((REPO / "tests" / "data" / "webhooks" / "mailgun" / name).read_text())
    payload["event-data"]["user-variables"] = {"distribute_delivery": ref}
    payload["event-data"]["timestamp"] = time.time()
    timestamp = str(int(time.time()))
    signature = hmac.new(MAILGUN_KEY.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    payload["signature"] = {"timestamp": timestamp, "token": token, "signature": signature}
    return payload


@pytest.mark.parametrize("memory", ["database", "redis"])
def test_a_captured_mailgun_signature_carries_no_other_event(memory, db, sent, tmp_path):
    """Mailgun signs timestamp + token, not the event: one captured request could carry a forged
    complaint for anyone (suppressing them) until its timestamp went stale. Every web process must
    remember the token, so the memory is Redis or the database, never a process's own."""
    broker = REDIS_URL if memory == "redis" else None
    settings = Settings(database_url=db.url, secret_key="test-secret-key-for-distribute-tests", base_url=BASE,
                        mailgun_signing_key=MAILGUN_KEY, broker_url=broker)
    # Two apps: two web processes, which share nothing but the database and Redis.
    one, two = create_app(settings, buffered=False), create_app(settings, buffered=False)
    token = secrets.token_hex(25)
    headers = {"Content-Type": "application/json"}
    captured = _mailgun_event("delivered.json", _delivery(db, JOURNALIST).ref, token)
    try:
        first = one.test_client().post("/webhooks/mailgun", data=json.dumps(captured), headers=headers)
        assert first.status_code == 200 and first.json["recorded"] == 1
        forged = dict(captured, **{"event-data": _mailgun_event("complained.json", _delivery(db, OTHER).ref,
                                                                 token)["event-data"]})
        refused = two.test_client().post("/webhooks/mailgun", data=json.dumps(forged), headers=headers)
        assert refused.status_code == 400 and "used already" in refused.json["error"]
        with db.sessions() as s:
            assert s.scalar(select(Suppression).where(Suppression.email_key == OTHER)) is None
            assert s.scalar(select(Event).where(Event.type == "complained")) is None
        # The same request again (Mailgun trying again after a 5xx of ours): answered, recorded once.
        again = two.test_client().post("/webhooks/mailgun", data=json.dumps(captured), headers=headers)
        assert again.status_code == 200 and again.json["duplicate"] == 1
        with db.sessions() as s:
            kept = s.scalar(select(WebhookToken.key))
        assert kept == (f"mailgun:{token}" if memory == "database" else None)
    finally:
        if memory == "redis":
            one.extensions["distribute"].webhook_tokens.client.delete(f"distribute:webhook-token:mailgun:{token}")
        for app in (one, two):
            app.extensions["distribute"].engine.dispose()


def test_request_bodies_are_capped(db, sent, tmp_path):
    settings = Settings(database_url=db.url, secret_key="test-secret-key-for-distribute-tests", base_url=BASE,
                        mailgun_signing_key=MAILGUN_KEY, max_request_bytes=4096)
    app = create_app(settings, buffered=False)
    client = app.test_client()
    big = client.post("/webhooks/mailgun", data=b"x" * 4097, headers={"Content-Type": "application/json"})
    assert big.status_code == 413 and len(big.data) < 200 and b"4096 bytes" in big.data
    within = client.post("/webhooks/mailgun", data=b"x" * 4096, headers={"Content-Type": "application/json"})
    assert within.status_code == 400 and "not JSON" in within.json["error"]
    # Chunked, without a Content-Length: cut at the limit (as gunicorn serves it), and refused.
    for size, status in ((4096, 413), (10_000_000, 413), (4095, 400)):
        chunked = client.post("/webhooks/mailgun", input_stream=io.BytesIO(b"x" * size),
                              headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json"},
                              environ_overrides={"wsgi.input_terminated": True})
        assert chunked.status_code == status, size
    # A form too: the page never reads it, and nothing changes.
    url = path(sent.unsubscribe(JOURNALIST))
    assert client.post(url, data={"List-Unsubscribe": "One-Click", "pad": "x" * 5000}).status_code == 413
    with db.sessions() as s:
        assert s.scalar(select(Contact.status).where(Contact.email_key == JOURNALIST)) == "active"
    # A chunked form under the limit is read here and still reaches the page whole.
    one_click = client.post(url, input_stream=io.BytesIO(b"List-Unsubscribe=One-Click"),
                            headers={"Transfer-Encoding": "chunked", "Content-Type": "application/x-www-form-urlencoded"},
                            environ_overrides={"wsgi.input_terminated": True})
    assert one_click.status_code == 200
    with db.sessions() as s:
        assert s.scalar(select(Contact.status).where(Contact.email_key == JOURNALIST)) == "unsubscribed"
    assert Settings().max_request_bytes == 1024 * 1024  # the default: a webhook batch fits
    app.extensions["distribute"].engine.dispose()


def test_captured_provider_payloads_are_taken_not_retried_for_days(db, sent, caplog):
    settings = Settings(database_url=db.url, secret_key="test-secret-key-for-distribute-tests", base_url=BASE, postmark_username="pm",
                        postmark_password="pm-password", sns_topic_arns="arn:aws:sns:us-east-1:123456789012:ses")
    app = create_app(settings, buffered=False)
    client = app.test_client()
    data = REPO / "tests" / "data" / "webhooks"
    # A Postmark bounce with "BouncedAt": null was a 400, so Postmark tried it again and again.
    bounce = json.loads((data / "postmark" / "bounce_bounced_at_null.json").read_text())
    bounce["Metadata"] = {"distribute_delivery": _delivery(db, JOURNALIST).ref}
    auth = "Basic " + base64.b64encode(b"pm:pm-password").decode()
    answer = client.post("/webhooks/postmark", json=bounce, headers={"Authorization": auth})
    assert answer.status_code == 200 and answer.json["recorded"] == 1
    d = _delivery(db, JOURNALIST)
    assert d.state == "bounced" and d.bounce_kind == "hard"
    # A NUL in a reply text would be refused by a PostgreSQL text column: a 500, retried for days.
    bounce |= {"ID": 4323372036854775812, "Details": "smtp;550 5.1.1 <j.okafor\x00@globalwire.example>: unknown"}
    bounce["Metadata"] = {"distribute_delivery": _delivery(db, OTHER).ref}
    answer = client.post("/webhooks/postmark", json=bounce, headers={"Authorization": auth})
    assert answer.status_code == 200 and answer.json["recorded"] == 1
    with db.sessions() as s:
        event = s.scalar(select(Event).where(Event.delivery_id == _delivery(db, OTHER).id, Event.type == "bounced"))
    assert event.data["diagnostic"] == "smtp;550 5.1.1 <j.okafor@globalwire.example>: unknown"
    # SNS with raw message delivery on posts an unsigned SES record: refused, and the log says why.
    raw = (data / "ses" / "delivery.json").read_bytes()
    with caplog.at_level("WARNING", logger="distribute.web.public.webhook_views"):
        refused = client.post("/webhooks/ses", data=raw, headers={"x-amz-sns-message-type": "Notification",
                                                                   "x-amz-sns-rawdelivery": "true"})
    assert refused.status_code == 400
    assert "is raw message delivery on?" in caplog.text
    app.extensions["distribute"].engine.dispose()


def test_deeply_nested_json_is_a_400_not_a_500(db, tmp_path):
    settings = Settings(database_url=db.url, secret_key="test-secret-key-for-distribute-tests", base_url=BASE,
                        mailgun_signing_key=MAILGUN_KEY, sns_topic_arns="arn:aws:sns:us-east-1:123456789012:ses")
    app = create_app(settings, buffered=False)
    client = app.test_client()
    for provider in ("mailgun", "ses"):
        response = client.post(f"/webhooks/{provider}", data=b"[" * 100_000, headers={"Content-Type": "application/json"})
        assert response.status_code == 400 and "nested too deeply" in response.json["error"], provider
    app.extensions["distribute"].engine.dispose()


def test_the_web_app_refuses_to_start_without_a_secret_in_production():
    with pytest.raises(ConfigError, match="DISTRIBUTE_SECRET_KEY"):
        create_app(Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none", secret_key=None))


def test_untracked_campaign_leaves_links_alone(run_cli, tmp_path):
    sent = send_release(run_cli, tmp_path / "outbox", "--no-track")
    html = sent.html(JOURNALIST)
    assert "/c/" not in html and "/o/" not in html
    assert "https://example.org/reports/clinic-water" in html
    stats = json.loads(run_cli("stats", "1", "--json").output)
    assert stats["tracked"] is False and stats["links"] == []


def test_the_pixel_and_a_cached_click_are_answered_before_flask_exactly_as_its_views_answer(web, sent, db):
    from werkzeug.test import Client

    client, state = web
    app = client.application
    through_flask = []
    app.before_request(lambda: through_flask.append(request_path()))
    flask_only = Client(app.wsgi_app.app)  # the Flask app behind the hot paths
    pixel, click = path(sent.pixel(JOURNALIST)), path(sent.clicks(JOURNALIST)[0])
    flask_only.get(click)  # the campaign's links cached, as after its first click
    state.events.flush()
    through_flask.clear()
    for url in (pixel, tamper(pixel), click):
        fast, slow = client.get(url), flask_only.get(url)
        assert (fast.status, fast.get_data(), sorted(fast.headers.items())) == \
               (slow.status, slow.get_data(), sorted(slow.headers.items())), url
    assert through_flask == [pixel, tamper(pixel), click]  # only the Flask-only client's requests
    assert state.events.flush() == 4  # two opens and two clicks: each path recorded its own
    client.head(click)
    client.get(tamper(click))
    assert through_flask[-2:] == [click, tamper(click)]  # a HEAD and a bad token: Flask's views


def request_path() -> str:
    from flask import request

    return request.path
