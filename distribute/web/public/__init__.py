"""The public web app's views (no login: every link carries a signed token), and the event buffer
and webhook replay store they share."""
