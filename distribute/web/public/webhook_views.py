"""ESP webhooks: SES (through SNS), SendGrid, Mailgun, Postmark.

The provider's payload is verified and normalised in distribute.feedback.webhooks, and each event
made a Signal for its delivery by distribute.feedback.esp; here they are recorded. Answers follow what providers expect: 400 for a bad or
missing signature (they stop, or an operator looks), 200 for a duplicate (the same event again
is a no-op), 5xx for our own faults, so that the provider retries. A Mailgun signature already
used for another event is refused (400): Mailgun itself never sends that, so only a replay sees it.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, request

from distribute.feedback.esp import to_signal
from distribute.feedback.events import DUPLICATE, RECORDED, record
from distribute.feedback.webhooks.registry import PROVIDERS, WebhookInvalid, WebhookRejected, parse_webhook
from distribute.web.public.state import state

log = logging.getLogger(__name__)
blueprint = Blueprint("webhooks", __name__)


@blueprint.post("/webhooks/<provider>")
def webhook(provider: str):
    if provider not in PROVIDERS:
        abort(404)
    web = state()
    try:
        result = parse_webhook(provider, request.headers, request.get_data(), web.webhook_secrets,
                               tokens=web.webhook_tokens)
    except WebhookRejected as exc:
        log.warning("webhook %s refused: %s", provider, exc)
        return {"error": str(exc)}, 400
    except WebhookInvalid as exc:
        return {"error": str(exc)}, 400
    if result.subscribe_url:
        # An SNS subscription is confirmed by the operator (the URL is logged), never fetched
        # from a request anyone could send.
        log.warning("SNS subscription confirmation for %s: open %s to confirm", provider, result.subscribe_url)
    counts = {RECORDED: 0, DUPLICATE: 0, "unmatched": 0}
    with web.sessions.begin() as session:
        for event in result.events:
            outcome = record(session, to_signal(event, web.settings.sender_domain), web.settings)
            counts[outcome] = counts.get(outcome, 0) + 1
    return {"received": len(result.events), **counts}, 200
