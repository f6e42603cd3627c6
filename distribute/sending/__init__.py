"""A campaign from creation to the last message handed over: campaigns (create and control),
checks (pre-flight), fanout (audience -> deliveries), sender (the worker's loop), message (per
recipient), ratelimit, sweeper (repairs), tasks (Celery) and embedded (in-process workers)."""
