"""The webhook registry: one vocabulary, unknown providers, and authentic but malformed data from
any provider is invalid, never a crash."""

from __future__ import annotations

import copy
import json
from datetime import datetime

import pytest

from distribute.config import Settings
from distribute.feedback.webhooks.registry import (
    PROVIDERS,
    VOCABULARY,
    ProviderEvent,
    WebhookInvalid,
    WebhookRejected,
    parse_webhook,
    webhook_secrets,
)

from webhook_helpers import (
    CERT_URL, DATA, NOW, TOPIC, clock, fixture, mailgun_body, notification, post_mailgun, post_postmark,
    post_sendgrid, post_ses, sendgrid_headers, sign_sns,
)


def test_vocabulary_is_the_feedback_vocabulary():
    from distribute.states import FEEDBACK_TYPES

    assert VOCABULARY == FEEDBACK_TYPES
    assert tuple(PROVIDERS) == ("ses", "sendgrid", "mailgun", "postmark")


def test_the_secrets_are_the_settings_each_provider_names():
    """Declared once, in Settings: a provider names the fields it needs, and the web app reads
    them through webhook_secrets."""
    settings = Settings(postmark_username="postmark", postmark_password="pw", sns_topic_arns=TOPIC)
    assert webhook_secrets(settings) == {
        "sns_topic_arns": TOPIC, "sendgrid_public_key": None, "mailgun_signing_key": None,
        "postmark_username": "postmark", "postmark_password": "pw",
    }
    for provider in PROVIDERS.values():
        with pytest.raises(WebhookRejected) as refused:
            parse_webhook(provider.name, {}, b"{}", {})
        assert all(f"DISTRIBUTE_{name.upper()}" in str(refused.value) for name in provider.secrets)


def test_unknown_provider_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown webhook provider"):
        parse_webhook("mandrill", {}, b"{}", {})


def test_provider_event_refuses_words_and_times_outside_the_contract():
    with pytest.raises(ValueError, match="unknown event type"):
        ProviderEvent(provider="ses", type="queued", event_id="x", at=NOW)
    with pytest.raises(ValueError, match="UTC"):
        ProviderEvent(provider="ses", type="opened", event_id="x", at=datetime(2026, 1, 1))


ODD_VALUES = (None, [], {}, 7, "x", True)


def mutations(value, depth=0):
    """Every copy of `value` with one field, at any depth up to 4, replaced by an odd value."""
    if depth > 4:
        return
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        return
    for key, child in items:
        for odd in ODD_VALUES:
            changed = copy.deepcopy(value)
            changed[key] = odd
            yield changed
        for inner in mutations(child, depth + 1):
            changed = copy.deepcopy(value)
            changed[key] = inner
            yield changed


def outcome(call):
    try:
        return call().events
    except (WebhookInvalid, WebhookRejected):
        return None


def test_authentic_but_malformed_data_is_invalid_never_a_crash(sns_key, fetcher, sendgrid_key):
    """An authentic request whose data has the wrong shape is answered 400 or taken as far as it
    makes sense, never with a TypeError (a 500 and a provider retrying it for days)."""
    for name in ("bounce_permanent.json", "click.json", "subscription.json"):
        for record in mutations(fixture("ses", name)):
            outcome(lambda: post_ses(sign_sns(notification(record), sns_key[0]), fetcher))
    for message in mutations(notification(fixture("ses", "delivery.json"))):
        message = {k: v for k, v in message.items() if k != "Signature"}
        if isinstance(message.get("Type"), str) and all(isinstance(message.get(k, ""), str) for k in
                                                         ("Message", "MessageId", "Timestamp", "TopicArn")):
            try:
                message = sign_sns(message, sns_key[0])
            except TypeError:
                pass
        outcome(lambda: post_ses(message, fetcher, headers={}))
    key, public = sendgrid_key
    for events in mutations(json.loads((DATA / "sendgrid" / "events.json").read_bytes())[5:8]):
        body = json.dumps(events).encode()
        outcome(lambda: post_sendgrid(body, sendgrid_headers(key, body), public))
    for name in ("failed_permanent.json", "clicked.json"):
        for payload in mutations(fixture("mailgun", name)):
            if "signature" in payload and payload["signature"] != fixture("mailgun", name)["signature"]:
                outcome(lambda: post_mailgun(json.dumps(payload).encode()))
            else:
                outcome(lambda: post_mailgun(mailgun_body(payload)))
    for name in ("bounce_hard.json", "open.json", "subscription_change.json"):
        for record in mutations(fixture("postmark", name)):
            outcome(lambda: post_postmark(record))


def test_deeply_nested_json_is_invalid_not_a_crash(sns_key, fetcher, sendgrid_key):
    """json.loads raises RecursionError a thousand levels down: a 500 with a traceback for anyone
    who posts "[[[[…", before any signature is checked (SES and Mailgun read the body first)."""
    deep = b"[" * 100_000
    with pytest.raises(WebhookInvalid, match="nested too deeply"):
        parse_webhook("ses", {}, deep, {"sns_topic_arns": TOPIC},
                      fetch_cert=fetcher, now=clock)
    with pytest.raises(WebhookInvalid, match="nested too deeply"):
        post_mailgun(deep)
    with pytest.raises(WebhookInvalid, match="nested too deeply"):
        post_postmark(deep)
    key, public = sendgrid_key
    with pytest.raises(WebhookInvalid, match="nested too deeply"):
        post_sendgrid(deep, sendgrid_headers(key, deep), public)
    # Signed by SNS, with the deep JSON inside the Message.
    with pytest.raises(WebhookInvalid, match="nested too deeply"):
        post_ses(sign_sns(dict(notification({}), Message="[" * 100_000), sns_key[0]), fetcher)
    assert fetcher.calls == [CERT_URL]
