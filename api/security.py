"""Secrets at rest and in flight: argon2id password hashes, signed login tokens, API keys.

Login tokens are HS256 JWTs (PyJWT) carrying the user id, the user's token version and a
token id; the signature proves we issued them, and every request also reads the user row so
that deactivating a user, changing their role or password (version bump) or logging out (token
id revoked) takes effect at once. API keys and link tokens are long random strings; they are
stored as SHA-256 digests (their entropy makes a slow hash pointless) and compared in
constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from api.settings import ApiSettings
from core.errors import SmokewatchError

TOKEN_ISSUER = "smokewatch"  # noqa: S105 - names, not secrets
TOKEN_ALGORITHM = "HS256"  # noqa: S105
API_KEY_PREFIX = "swk_"
_KEY_ID_BYTES = 6  # 12 hex characters: the public, listed part of a key
_KEY_SECRET_BYTES = 24


class InvalidCredentials(Exception):
    """A token, key or password did not verify (the reason is for logs, never for clients)."""


class PasswordsBusy(SmokewatchError):
    """The password hasher cannot take this login now; the client should retry shortly."""


class LoginQueueFull(PasswordsBusy):
    """As many logins as the hasher admits are already hashing or waiting; refused at once."""


class HashSlotTimeout(PasswordsBusy):
    """No hashing slot came free within the wait (answered 503: retry)."""


class Passwords:
    """Hash and verify passwords with argon2id at the configured cost.

    At most ``max_parallel`` hashes run at once: each takes ``memory_kib`` and a core for a
    fraction of a second, so a burst of logins must queue rather than exhaust memory; a
    caller that waits longer than ``wait_s`` gets :class:`HashSlotTimeout` (503, retry).

    Logins enter through :meth:`admit`: at most ``max_parallel + max_waiting`` are hashing or
    waiting for a slot; one more is refused at once with :class:`LoginQueueFull` (429,
    Retry-After, see api/errors.py), so a flood of unauthenticated logins cannot queue without
    bound.
    """

    def __init__(
        self,
        *,
        time_cost: int = 3,
        memory_kib: int = 65_536,
        max_parallel: int = 2,
        wait_s: float = 10.0,
        max_waiting: int = 8,
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=1, type=Type.ID
        )
        self._dummy: str | None = None
        self._slots = threading.BoundedSemaphore(max_parallel)
        self._wait_s = wait_s
        self._admitted = 0
        self._max_admitted = max_parallel + max_waiting
        self._admit_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: ApiSettings) -> Passwords:
        return cls(
            time_cost=settings.api_argon2_time_cost,
            memory_kib=settings.api_argon2_memory_kib,
            max_parallel=settings.api_argon2_max_parallel,
            max_waiting=settings.api_login_max_waiting,
        )

    @property
    def admitted(self) -> int:
        """Logins currently inside :meth:`admit` (hashing or waiting for a slot)."""
        return self._admitted

    @contextmanager
    def admit(self) -> Iterator[None]:
        """Enter one login attempt, or raise :class:`LoginQueueFull` when too many are in."""
        with self._admit_lock:
            if self._admitted >= self._max_admitted:
                raise LoginQueueFull("too many logins at once, retry in a moment")
            self._admitted += 1
        try:
            yield
        finally:
            with self._admit_lock:
                self._admitted -= 1

    @contextmanager
    def _slot(self) -> Iterator[None]:
        if not self._slots.acquire(timeout=self._wait_s):
            raise HashSlotTimeout("too many logins at once, retry in a moment")
        try:
            yield
        finally:
            self._slots.release()

    def hash(self, password: str) -> str:
        """A new argon2id hash (salted, parameters encoded in the string)."""
        with self._slot():
            return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when ``password`` matches; an unknown user still costs one verification."""
        if self._dummy is None:
            # Verified when the username is unknown, so timing does not tell which exist.
            self._dummy = self.hash(secrets.token_hex(16))
        try:
            with self._slot():
                verified = self._hasher.verify(stored_hash or self._dummy, password)
            return verified and bool(stored_hash)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """True when the hash was made with other parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verified login token says."""

    user_id: int
    version: int
    token_id: str
    expires_at: datetime


def issue_token(
    *, user_id: int, version: int, secret: str, ttl_s: int, now: datetime | None = None
) -> tuple[str, TokenClaims]:
    """A signed login token for ``user_id`` and its claims."""
    now = now or datetime.now(UTC)
    claims = TokenClaims(
        user_id=user_id,
        version=version,
        token_id=uuid.uuid4().hex,
        expires_at=(now + timedelta(seconds=ttl_s)).replace(microsecond=0),
    )
    payload: dict[str, Any] = {
        "iss": TOKEN_ISSUER,
        "sub": str(user_id),
        "ver": version,
        "jti": claims.token_id,
        "iat": int(now.timestamp()),
        "exp": int(claims.expires_at.timestamp()),
    }
    return jwt.encode(payload, _signing_key(secret), algorithm=TOKEN_ALGORITHM), claims


def verify_token(token: str, *, secret: str) -> TokenClaims:
    """Check signature, issuer and expiry; raise :class:`InvalidCredentials`."""
    try:
        payload = jwt.decode(
            token,
            _signing_key(secret),
            algorithms=[TOKEN_ALGORITHM],
            issuer=TOKEN_ISSUER,
            options={"require": ["exp", "iat", "sub", "jti", "iss"]},
        )
        return TokenClaims(
            user_id=int(payload["sub"]),
            version=int(payload.get("ver", 0)),
            token_id=str(payload["jti"]),
            expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
        )
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidCredentials(type(exc).__name__) from exc


def _signing_key(secret: str) -> bytes:
    """The HS256 key: a SHA-256 of the configured secret under our own label, so the key is
    always 32 bytes (RFC 7518 3.2) and never the same bytes as another use of the secret."""
    return hashlib.sha256(b"smokewatch-login-token-v1\x00" + secret.encode()).digest()


def digest(secret: str) -> str:
    """SHA-256 hex digest of a high-entropy secret (API keys, link tokens, device secrets)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same_digest(secret: str, stored: str) -> bool:
    """Constant-time comparison of ``secret``'s digest with a stored one."""
    return hmac.compare_digest(digest(secret), stored)


def new_api_key() -> tuple[str, str]:
    """A new API key ``swk_<id>_<secret>`` and its public id (the part stored in clear)."""
    key_id = secrets.token_hex(_KEY_ID_BYTES)
    return f"{API_KEY_PREFIX}{key_id}_{secrets.token_urlsafe(_KEY_SECRET_BYTES)}", key_id


def api_key_id(key: str) -> str:
    """The public id of a presented key; raise :class:`InvalidCredentials` when malformed."""
    if not key.startswith(API_KEY_PREFIX) or len(key) > 200:
        raise InvalidCredentials("not an API key")
    key_id, sep, rest = key.removeprefix(API_KEY_PREFIX).partition("_")
    if not sep or not rest or len(key_id) != 2 * _KEY_ID_BYTES:
        raise InvalidCredentials("malformed API key")
    return key_id


def new_link_token() -> str:
    """A random token for a personal relative link (stored as its digest only)."""
    return secrets.token_urlsafe(24)
