"""Deliveries: the one writer of their state (moves) and the per-campaign counters it keeps
(counters), with the exact recount that repairs them (recount)."""
