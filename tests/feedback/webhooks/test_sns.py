"""The SNS signature's certificate: fetched only from an SNS host of AWS, kept only when it is one,
never through a redirect (the signature itself is checked through the SES endpoint: test_ses)."""

from __future__ import annotations

import pytest

from distribute.feedback.webhooks import sns
from distribute.feedback.webhooks.registry import WebhookRejected


def test_default_fetcher_refuses_a_bad_url_without_touching_the_network():
    with pytest.raises(WebhookRejected, match="SigningCertURL"):
        sns.fetch_cert("https://evil.example/cert.pem")


class FakeResponse:
    def __init__(self, data: bytes):
        self.data = data

    def read(self, limit: int) -> bytes:
        return self.data[:limit]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_default_fetcher_caches_certificates_only(monkeypatch, sns_key):
    import urllib.error

    opened: list[str] = []
    answers: dict[str, object] = {
        "https://sns.us-east-1.amazonaws.com/good.pem": sns_key[1],
        "https://sns.us-east-1.amazonaws.com/html.pem": b"<html>maintenance</html>",
        "https://sns.us-east-1.amazonaws.com/missing.pem": urllib.error.HTTPError("u", 404, "Not Found", {}, None),
        "https://sns.us-east-1.amazonaws.com/down.pem": urllib.error.URLError("connection refused"),
        "https://sns.us-east-1.amazonaws.com/busy.pem": urllib.error.HTTPError("u", 503, "Busy", {}, None),
    }

    def fake_open(url, timeout):
        assert timeout == sns.FETCH_TIMEOUT_SECONDS
        opened.append(url)
        answer = answers[url]
        if isinstance(answer, Exception):
            raise answer
        return FakeResponse(answer)

    monkeypatch.setattr(sns._opener, "open", fake_open)
    monkeypatch.setattr(sns, "_cache", type(sns._cache)())
    good = "https://sns.us-east-1.amazonaws.com/good.pem"
    assert sns.fetch_cert(good) == sns_key[1]
    assert sns.fetch_cert(good) == sns_key[1]
    assert opened == [good]  # the second time from the cache
    for name in ("html", "missing"):
        for _ in range(2):
            with pytest.raises(WebhookRejected):
                sns.fetch_cert(f"https://sns.us-east-1.amazonaws.com/{name}.pem")
    for name in ("down", "busy"):  # our side, or AWS's: a 5xx, and SNS retries
        with pytest.raises(sns.CertificateUnavailable):
            sns.fetch_cert(f"https://sns.us-east-1.amazonaws.com/{name}.pem")
    assert opened.count("https://sns.us-east-1.amazonaws.com/html.pem") == 2  # not cached


def test_default_fetcher_follows_no_redirect():
    import urllib.error
    import urllib.request

    request = urllib.request.Request("https://sns.us-east-1.amazonaws.com/cert.pem")
    with pytest.raises(urllib.error.HTTPError, match="refused"):
        sns._NoRedirect().redirect_request(request, None, 302, "Found", {}, "https://evil.example/cert.pem")
