"""Amazon SES notifications that arrive by mail: an SNS topic with an email subscription sends
the SES event (a bounce, a complaint, a delivery) as the JSON body of a plain message, either
the SNS envelope ({"Type": "Notification", "Message": "<the SES event as a JSON string>"}) or
the SES event itself. The same events reach the web app signed, through the webhook
(`distribute.feedback.webhooks.ses`); by mail nothing is signed, so, like any other report in the bounce
mailbox, one takes effect only through the VERP token it was sent back to.

SES's fields (docs.aws.amazon.com/ses, "Contents of event data"): notificationType or eventType;
bounce.bouncedRecipients[] with emailAddress, action, status, diagnosticCode; complaint.
complainedRecipients[] with emailAddress and complaintFeedbackType.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class SesRecipient:
    address: str
    action: str
    status: str | None
    diagnostic: str


@dataclass(frozen=True)
class SesNotification:
    kind: str  # "bounce" | "delay" | "complaint" | "other"
    recipients: tuple[SesRecipient, ...]
    feedback_type: str | None = None


def read_ses_json(text: str, *, limit: int) -> SesNotification | None:
    """The SES event in a message's text, or None when the text is not one."""
    body = text.strip()
    if not body.startswith("{") or ("notificationType" not in body and "eventType" not in body):
        return None
    try:
        # strict=False: mail transports wrap long lines, which puts raw line breaks in strings.
        record = json.loads(body, strict=False)
        if isinstance(record, dict) and isinstance(record.get("Message"), str):  # the SNS envelope
            record = json.loads(record["Message"], strict=False)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than any SES event
        return None
    if not isinstance(record, dict):
        return None
    name = str(record.get("notificationType") or record.get("eventType") or "")
    if name == "Bounce":
        detail = _dict(record.get("bounce"))
        return SesNotification(kind="bounce", recipients=_recipients(detail.get("bouncedRecipients"), limit, "failed"))
    if name == "DeliveryDelay":
        detail = _dict(record.get("deliveryDelay"))
        return SesNotification(kind="delay", recipients=_recipients(detail.get("delayedRecipients"), limit, "delayed"))
    if name == "Complaint":
        detail = _dict(record.get("complaint"))
        kind = detail.get("complaintFeedbackType") or detail.get("complaintSubType")
        return SesNotification(kind="complaint", recipients=_recipients(detail.get("complainedRecipients"), limit, ""),
                               feedback_type=str(kind).lower() if kind else None)
    return SesNotification(kind="other", recipients=())


def _recipients(items, limit: int, action: str) -> tuple[SesRecipient, ...]:
    found = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("emailAddress"), str):
            found.append(SesRecipient(
                address=item["emailAddress"], action=str(item.get("action") or action).lower(),
                status=str(item["status"]) if item.get("status") else None,
                diagnostic=" ".join(str(item.get("diagnosticCode") or "").split()),
            ))
        if len(found) >= limit:
            break
    return tuple(found)


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}
