"""Short signed acknowledge links: ``<incident>.<contact>.<expiry>.<mac>`` in base 36 + base64url.

The token is what an SMS carries after the base URL, so it must be short (about 40
characters) yet unforgeable: the MAC is HMAC-SHA256 over a domain tag and the three numbers,
truncated to 128 bits, compared in constant time. It binds the incident and the contact, so a
link received for one incident never acknowledges another, and the audit log knows who
answered.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.errors import ConfigurationError
from core.incidents.errors import InvalidToken

# Secrets that ship in examples and tests; they are refused outside development.
PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "development-only-secret", "secret"})
MIN_SECRET_LENGTH = 32
_TAG = b"smokewatch-ack-v1"
_MAC_BYTES = 16
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True, slots=True)
class AckClaim:
    """What a valid token proves: this contact may act on this incident until ``expires_at``."""

    incident_id: int
    contact_id: int
    expires_at: datetime


def check_ack_secret(secret: str, environment: str) -> str:
    """Return ``secret`` or raise when it is a placeholder or too short outside development."""
    if environment != "development" and (
        secret.strip().lower() in PLACEHOLDER_SECRETS or len(secret) < MIN_SECRET_LENGTH
    ):
        raise ConfigurationError(
            f"the acknowledge-link secret must be a real secret of at least {MIN_SECRET_LENGTH} "
            f"characters in {environment}"
        )
    return secret


def make_ack_token(
    *, incident_id: int, contact_id: int, secret: str, ttl: timedelta, now: datetime | None = None
) -> str:
    """Sign a token letting ``contact_id`` view, acknowledge and resolve ``incident_id``."""
    if incident_id < 0 or contact_id < 0:
        raise ValueError("ids must be non-negative")
    now = now or datetime.now(UTC)
    expires = int((now + ttl).timestamp())
    body = ".".join(_b36(n) for n in (incident_id, contact_id, expires))
    return f"{body}.{_mac(body, secret)}"


def verify_ack_token(
    token: str,
    *,
    secret: str,
    now: datetime | None = None,
    incident_id: int | None = None,
) -> AckClaim:
    """Check signature, expiry and (when given) the incident; raise :class:`InvalidToken`."""
    parts = token.strip().split(".")
    if len(parts) != 4 or len(token) > 120:
        raise InvalidToken("malformed")
    body, mac = ".".join(parts[:3]), parts[3]
    if not hmac.compare_digest(mac.encode(), _mac(body, secret).encode()):
        raise InvalidToken("bad signature")
    try:
        claimed_incident, contact, expires = (int(p, 36) for p in parts[:3])
    except ValueError as exc:  # only reachable with the secret, but never trust input
        raise InvalidToken("malformed") from exc
    now = now or datetime.now(UTC)
    expires_at = datetime.fromtimestamp(expires, UTC)
    if now >= expires_at:
        raise InvalidToken("expired")
    if incident_id is not None and incident_id != claimed_incident:
        raise InvalidToken("issued for another incident")
    return AckClaim(claimed_incident, contact, expires_at)


def _mac(body: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), _TAG + b"|" + body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:_MAC_BYTES]).rstrip(b"=").decode()


def _b36(number: int) -> str:
    if number == 0:
        return "0"
    out = []
    while number:
        number, rest = divmod(number, 36)
        out.append(_DIGITS[rest])
    return "".join(reversed(out))
