"""The public web app's views (no login: every link carries a signed token), and what they share
(state: settings, sessions, tokens; the event buffer; the webhook replay store)."""
