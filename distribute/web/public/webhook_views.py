"""ESP webhooks: SES (through SNS), SendGrid, Mailgun, Postmark.

The provider's payload is verified and normalised in distribute.webhooks; here each event is
matched to its delivery and recorded. Answers follow what providers expect: 400 for a bad or
missing signature (they stop, or an operator looks), 200 for a duplicate (the same event again
is a no-op), 5xx for our own faults, so that the provider retries. A Mailgun signature already
used for another event is refused (400): Mailgun itself never sends that, so only a replay sees it.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, request

from distribute.bounces.classify import bounce_kind, judge
from distribute.feedback import DUPLICATE, RECORDED, Signal, record
from distribute.web import state
from distribute.webhooks import PROVIDERS, WebhookInvalid, WebhookRejected, parse_webhook

log = logging.getLogger(__name__)
blueprint = Blueprint("webhooks", __name__)
# Providers' words for "the address is dead", used only when the event has no reply to judge.
_PROVIDER_HARD = frozenset({"permanent", "hardbounce"})


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


def to_signal(event, sender_domain: str) -> Signal:
    ref = event.delivery_ref
    if not ref and event.message_id:
        local, _, domain = event.message_id.strip("<>").partition("@")
        ref = local if domain.lower() == sender_domain else None
    kind = reason = None
    data = {k: v for k, v in {"status": event.status, "diagnostic": event.diagnostic, "url": event.url,
                              "provider_type": event.bounce_type}.items() if v}
    if event.type == "bounced":
        verdict = judge(event.diagnostic or event.bounce_type or "", event.status)
        kind = bounce_kind(verdict)
        if verdict.category == "other" and (event.bounce_type or "").lower() in _PROVIDER_HARD:
            kind = "hard"  # no reply text to judge: the provider's own verdict is all there is
        elif kind not in ("hard", "soft", "block"):
            log.warning("%s bounce %s judged %r; recorded as soft", event.provider, event.event_id, kind)
            kind = "soft"
        reason = event.diagnostic or verdict.reason
        data |= {"category": verdict.category, "hard": verdict.hard}
    return Signal(type=event.type, source=event.provider, ref=ref or None, at=event.at,
                  dedupe_key=f"{event.provider}:{event.event_id}", data=data or None, raw=event.raw,
                  user_agent=event.user_agent, ip=event.ip, bounce_kind=kind, reason=reason)
