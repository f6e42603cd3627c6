"""ESP webhooks as pure parsers (no database, no web framework): one module per provider, the
shared event shape (events), and the registry that verifies a request and reads its events
(registry)."""
