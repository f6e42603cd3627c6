"""The web interfaces. public/: what recipients and ESPs reach (tracking, unsubscribe and
preferences, web versions, webhooks), made into one Flask app by distribute.web.app."""

from distribute.web.app import create_app

__all__ = ["create_app"]
