"""ESP webhook events as feedback: a ProviderEvent (distribute.feedback.webhooks) becomes a
Signal for the event writer, matched to its delivery by our reference (or by a Message-ID of
ours), its bounce judged by the same classification as every other reply."""

from __future__ import annotations

import logging

from distribute.feedback.bounces.classify import bounce_kind, judge
from distribute.feedback.events import Signal

log = logging.getLogger(__name__)
# Providers' words for "the address is dead", used only when the event has no reply to judge.
_PROVIDER_HARD = frozenset({"permanent", "hardbounce"})


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
