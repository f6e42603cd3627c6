"""Asynchronous bounces: reading what comes back (DSNs, MTA prose, ARF complaints,
auto-replies) and judging each recipient with the same SMTP reply classifier as the sender."""

from distribute.bounces.classify import bounce_kind
from distribute.bounces.mailbox import Incoming, iter_messages
from distribute.bounces.report import BounceRecipient, Report, header_text, read_report

__all__ = ["BounceRecipient", "Incoming", "Report", "bounce_kind", "header_text", "iter_messages", "read_report"]
