"""What comes back after sending, in one vocabulary: SMTP replies (replies), asynchronous bounces
(bounces/, pure parsers), ESP webhooks (webhooks/, pure parsers; esp maps their events), the
bounce mailbox (inbound), opens and clicks (engagement), the one event writer (events) and the
suppression policy (policy)."""
