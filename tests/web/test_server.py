"""The web app behind gunicorn (`distribute serve`) on a real socket, on PostgreSQL: what a mail
client, a browser and a link scanner do, over HTTP."""

from __future__ import annotations

import datetime as dt
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select, update

from distribute.models import Contact, Delivery, Event, Release
from web_helpers import path, send_release

JOURNALIST = "j.okafor@globalwire.example"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(db, tmp_path):
    port = _free_port()
    env = os.environ | {"DISTRIBUTE_DATABASE_URL": db.url, "DISTRIBUTE_SECRET_KEY": "test-secret-key-for-distribute-tests",
                        "DISTRIBUTE_BASE_URL": "https://press.example.org"}
    log = open(tmp_path / "serve.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "distribute.cli", "serve", "--port", str(port), "--workers", "1",
                             "--threads", "4"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    deadline = time.monotonic() + 30
    while True:
        try:
            if _request(port, "GET", "/healthz").status == 200:
                break
        except OSError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
        time.sleep(0.2)
    yield port, proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    log.close()


class _Response:
    def __init__(self, r: http.client.HTTPResponse):
        self.status, self.headers, self.body = r.status, dict(r.getheaders()), r.read()


def _request(port, method, url, body=None, headers=None) -> _Response:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, url, body=body, headers=headers or {})
        return _Response(conn.getresponse())
    finally:
        conn.close()


def _post_raw(port, path, size: int, *, chunked: bool) -> bytes:
    """POST `size` bytes on a raw socket (with Content-Length, or chunked without one) and return
    the status line. The server may answer and close before the body is all sent."""
    block = b"[" * 65536
    framing = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % size
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"POST %s HTTP/1.1\r\nHost: press.example.org\r\nContent-Type: application/json\r\n%s\r\n\r\n"
                  % (path.encode(), framing))
        try:
            for _ in range(size // len(block)):
                s.sendall(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
            if chunked:
                s.sendall(b"0\r\n\r\n")
        except OSError:  # answered and closed early: the answer is still there to read
            pass
        return s.recv(4096).split(b"\r\n", 1)[0]


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_request_bodies_are_capped_even_without_a_content_length(server, db):
    port, proc = server
    with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as children:
        [worker] = [int(pid) for pid in children.read().split()]
    before = _rss_kb(worker)
    # 64 MiB, ten times over, each way: refused at 1 MiB (DISTRIBUTE_MAX_REQUEST_BYTES), never read whole.
    for chunked in (False, True) * 5:
        assert _post_raw(port, "/webhooks/mailgun", 64 << 20, chunked=chunked) == b"HTTP/1.1 413 REQUEST ENTITY TOO LARGE"
    # Under the limit, a chunked body is read whole (and is no webhook: 400).
    assert _post_raw(port, "/webhooks/mailgun", 15 * 65536, chunked=True) == b"HTTP/1.1 400 BAD REQUEST"
    assert _request(port, "GET", "/healthz").status == 200
    # Reading one such body whole took the worker's peak memory up by its size or more.
    assert _rss_kb(worker) - before < 32 * 1024


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_the_served_app_over_http(server, db, run_cli, tmp_path):
    port, proc = server
    sent = send_release(run_cli, tmp_path / "outbox")

    pixel = _request(port, "GET", path(sent.pixel(JOURNALIST)), headers={"User-Agent": "Mozilla/5.0 Thunderbird"})
    assert pixel.status == 200 and pixel.headers["Content-Type"] == "image/gif"

    click = _request(port, "GET", path(sent.clicks(JOURNALIST)[0]))
    assert click.status == 302 and click.headers["Location"].startswith("https://")
    assert "press.example.org" not in click.headers["Location"]
    for bad in (path(sent.clicks(JOURNALIST)[0])[:-3] + "xyz", "/c///evil.test", "/c/%2F%2Fevil.test"):
        response = _request(port, "GET", bad)
        assert response.status == 404 and "Location" not in response.headers, bad

    unsubscribe = path(sent.unsubscribe(JOURNALIST))
    page = _request(port, "GET", unsubscribe)
    assert page.status == 200 and b'method="post"' in page.body
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"  # DISTRIBUTE_BASE_URL is https
    preferences = _request(port, "GET", unsubscribe.replace("/unsubscribe/", "/preferences/"))
    assert preferences.status == 200 and b"human rights" in preferences.body
    with db.sessions() as s:
        assert s.scalar(select(Contact.status).where(Contact.email_key == JOURNALIST)) == "active"
    one_click = _request(port, "POST", unsubscribe, body=urlencode({"List-Unsubscribe": "One-Click"}),
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert one_click.status == 200
    with db.sessions() as s:  # written before the answer, not buffered
        assert s.scalar(select(Contact.status).where(Contact.email_key == JOURNALIST)) == "unsubscribed"

    with db.sessions() as s:
        slug = s.scalar(select(Release.slug))
    assert _request(port, "GET", f"/releases/{slug}").status == 200
    assert _request(port, "GET", "/releases/%00").status == 404  # not a query PostgreSQL refuses (a 500)
    with db.sessions.begin() as s:
        s.execute(update(Release).values(embargo_until=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)))
    assert _request(port, "GET", f"/releases/{slug}").status == 404

    # The pixel and the click were answered before they were written; a clean stop writes them.
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    with db.sessions() as s:
        types = dict(s.execute(select(Event.type, func.count()).group_by(Event.type)).all())
        journalist = s.scalar(select(Delivery).where(Delivery.email == JOURNALIST))
    assert types.get("opened") == 1 and types.get("clicked") == 1 and types.get("unsubscribed") == 1
    assert journalist.opens == 1 and journalist.clicks == 1 and journalist.unsubscribed_at is not None
