"""Email address validation and normalisation: the one place addresses are judged."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from distribute.errors import UserError


class InvalidAddress(UserError):
    pass


def normalise(raw: str) -> tuple[str, str]:
    """Return (address, key): the address trimmed with its domain lowercased and IDNA-encoded,
    and the key duplicates are found by (the whole address lowercased).

    Raises InvalidAddress with a reason a person can act on.
    """
    candidate = raw.strip().strip("<>").strip()
    if not candidate:
        raise InvalidAddress("empty email address")
    try:
        # No DNS: deliverability is learnt from bounces, and imports must not touch the network.
        checked = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidAddress(f"invalid email address {candidate!r}: {exc}") from None
    address = f"{checked.local_part}@{checked.ascii_domain}"
    return address, address.lower()
