"""How a built message leaves: the interface (interface), SMTP (smtp, smtp_url) and the file
outbox (outbox). Importing the package loads none of them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from distribute.config import Settings
    from distribute.transport.interface import Transport


def transport_from_settings(settings: Settings) -> Transport:
    """SMTP when DISTRIBUTE_SMTP_URL is set, otherwise the file outbox."""
    if settings.smtp_url:
        from distribute.transport.smtp import SMTPTransport

        return SMTPTransport(settings.smtp_url)
    from distribute.transport.outbox import OutboxTransport

    return OutboxTransport(settings.outbox_dir)
