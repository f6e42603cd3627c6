"""Asynchronous bounces: reading what comes back (DSNs, MTA prose, ARF complaints,
auto-replies) and judging each recipient with the same SMTP reply classifier as the sender.

Pure parsers, no database: a mailbox (mailbox) gives messages, a message becomes a Report
(report, with textbounce for MTA prose and sesmail for SES notifications by mail), and each
recipient's reply is judged (classify)."""
