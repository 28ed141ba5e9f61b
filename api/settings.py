"""Settings of the REST API (``SMOKEWATCH_API_*`` and the common ones), read once at start-up."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator, model_validator

from core.codecs.registry import CodecConfig, CodecName
from core.codecs.thing_model import property_maps
from core.config import CommonSettings
from core.errors import ConfigurationError
from core.incidents.tokens import MIN_SECRET_LENGTH, PLACEHOLDER_SECRETS


class ApiSettings(CommonSettings):
    """One instance per API process."""

    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=0, le=65_535)
    # Where people reach the API (links in messages and pages are built on it).
    api_public_url: str = "http://127.0.0.1:8000"
    # Comma-separated addresses (or networks) of the reverse proxy whose X-Forwarded-For is
    # trusted (uvicorn's forwarded_allow_ips). Empty (the default): no proxy is trusted and the
    # client address is the TCP peer. Behind nginx name exactly nginx's address(es) here: any
    # client at a trusted address can claim every other address (and so dodge the per-address
    # login throttle).
    api_forwarded_allow_ips: str = ""
    api_pool_min: int = Field(default=1, ge=0, le=100)
    api_pool_max: int = Field(default=10, ge=1, le=200)
    api_pool_timeout_s: float = Field(default=5.0, gt=0, le=60)
    # Browser origins allowed to call the API cross-site; empty (the default) keeps CORS off.
    api_cors_origins: list[str] = Field(default_factory=list)
    # Request bodies: larger ones are answered 413 before anything reads them (api/body_limit.py);
    # the roster import takes up to api_max_upload_bytes, and only from a caller with credentials.
    api_max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    api_max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=256 * 1024 * 1024)
    # Apprise schemes a contact's channel may use (JSON list). Person-facing channels only:
    # json:// webhooks are added in development and test; see api/contacts/channels.py.
    api_contact_channel_schemes: list[str] = Field(
        default_factory=lambda: ["aliyunsms", "alivoice", "tencentsms", "wecombot", "dingtalk"]
    )

    # Login tokens: HMAC-signed (HS256) JWTs, checked against the user row on every request.
    api_secret: SecretStr = SecretStr("development-only-secret")
    api_token_ttl_s: int = Field(default=12 * 3600, ge=60, le=30 * 24 * 3600)
    # None: Secure cookies everywhere except in development (plain http on a laptop).
    api_cookie_secure: bool | None = None
    # Brute-force throttle: this many failed logins per username and client address within
    # the window lock that pair out until the window ends.
    api_login_max_failures: int = Field(default=5, ge=1, le=1000)
    api_login_window_s: int = Field(default=900, ge=1)
    # The same across usernames: failed logins from one client address within the window
    # (password spraying) before that address is locked out until the window ends. Only real
    # failures count and one account adds at most api_login_max_failures, so this needs
    # several accounts; kept at least 3x the per-user limit (a whole centre shares one NAT).
    api_login_max_failures_per_ip: int = Field(default=50, ge=1, le=100_000)
    # Logins waiting for a hash slot (beyond api_argon2_max_parallel hashing) per process; one
    # more is answered 429 at once.
    api_login_max_waiting: int = Field(default=8, ge=0, le=1000)
    # Argon2id cost: 3 passes over 64 MiB, one lane (RFC 9106's second recommendation with one
    # lane); tests lower the memory.
    api_argon2_time_cost: int = Field(default=3, ge=1, le=20)
    api_argon2_memory_kib: int = Field(default=65_536, ge=1024, le=4 * 1024 * 1024)
    # Hashes computed at once by one process (memory_kib each); more logins queue.
    api_argon2_max_parallel: int = Field(default=2, ge=1, le=64)
    # Live feed (GET /api/v1/live): a ping, and a re-check of the caller's credentials, this
    # often; at most this many open streams per user or API key.
    api_live_ping_s: float = Field(default=15.0, gt=0, le=300)
    api_live_max_streams: int = Field(default=5, ge=1, le=100)
    api_readyz_timeout_s: float = Field(default=2.0, gt=0, le=30)

    # Acknowledge links of the alerts (relative pages); the same secret as alerting's.
    ack_secret: SecretStr = SecretStr("development-only-secret")
    ack_ttl_s: int = Field(default=72 * 3600, gt=60)

    # Pages (/ui): the board's map tiles, an XYZ template such as
    # "https://t{s}.example/{z}/{x}/{y}.png" (Tianditu and AMap need their key in it); unset
    # draws the sites on a plain background.
    api_map_tile_url: str | None = None
    api_map_attribution: str = ""
    api_map_max_zoom: int = Field(default=18, ge=1, le=22)
    # What {s} in the tile URL takes in turn: "abc" for most servers, "01234567" for Tianditu.
    api_map_subdomains: str = Field(default="abc", min_length=1, max_length=16)

    # How long a wall screen's display cookie (POST /auth/display with an API key) lives; the
    # key can be revoked at any time. Browsers cap cookies at about 400 days.
    api_display_cookie_ttl_s: int = Field(default=365 * 86400, ge=3600, le=400 * 86400)
    # The monitoring centre's duty phone, shown with a call button on the relative's page.
    api_centre_phone: str | None = Field(default=None, max_length=40)

    # Broker admin (Mosquitto dynamic security): when set, device credentials are mirrored.
    broker_admin_url: SecretStr | None = None

    # HTTP push endpoints (/ingest/<codec>): same names and meaning as the ingest settings.
    ingest_codecs: tuple[CodecName, ...] = ("zigbee2mqtt", "chirpstack", "ctwing", "onenet")
    ingest_max_payload_bytes: int = Field(default=16 * 1024, ge=256, le=1024 * 1024)
    onenet_token: SecretStr | None = None
    # CTWing pushes carry no signature: this shared secret goes in the subscription URL
    # configured on the CTWing side (https://<host>/ingest/ctwing?token=<it>). Unset: accepted
    # without it in development and test; refused in production (every CTWing push).
    ctwing_push_token: SecretStr | None = None
    # Provider callbacks (/callbacks/<provider>/...?token=<it>): their HTTP pushes carry no
    # signature, so this shared secret goes in the callback URL set in each provider console.
    # Unset: every callback is refused (fail closed).
    callback_token: SecretStr | None = None
    # Per source address on /ingest/*: this many pushes a second sustained, burst at once.
    ingest_push_rate_per_s: float = Field(default=50.0, gt=0, le=100_000)
    ingest_push_burst: int = Field(default=500, ge=1, le=1_000_000)
    ctwing_property_maps: dict[str, dict[str, list[str]]] = Field(default_factory=dict)
    onenet_property_maps: dict[str, dict[str, list[str]]] = Field(default_factory=dict)

    @field_validator(
        "onenet_token", "ctwing_push_token", "callback_token", "broker_admin_url", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # docker-compose passes an unset variable as an empty string.
        return None if value == "" else value

    @field_validator("api_public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("api_cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ValueError(f"not an origin: {origin!r}")
        return value

    @model_validator(mode="after")
    def _address_limit_above_user_limit(self) -> ApiSettings:
        if self.api_login_max_failures_per_ip < 3 * self.api_login_max_failures:
            raise ConfigurationError(
                "SMOKEWATCH_API_LOGIN_MAX_FAILURES_PER_IP must be at least 3 times "
                "SMOKEWATCH_API_LOGIN_MAX_FAILURES (one locked account must not lock an address)"
            )
        return self

    @model_validator(mode="after")
    def _secrets(self) -> ApiSettings:
        for name in ("api_secret", "ack_secret"):
            secret: SecretStr = getattr(self, name)
            check_secret(secret.get_secret_value(), self.environment, f"SMOKEWATCH_{name.upper()}")
        if self.ctwing_push_token is not None:
            check_secret(self.ctwing_push_token.get_secret_value(), self.environment,
                         "SMOKEWATCH_CTWING_PUSH_TOKEN")  # fmt: skip
        if self.callback_token is not None:
            check_secret(self.callback_token.get_secret_value(), self.environment,
                         "SMOKEWATCH_CALLBACK_TOKEN")  # fmt: skip
        return self

    @property
    def cookie_secure(self) -> bool:
        """Whether the session cookie carries the Secure attribute."""
        if self.api_cookie_secure is None:
            return self.environment != "development"
        return self.api_cookie_secure

    @field_validator("ctwing_property_maps", "onenet_property_maps")
    @classmethod
    def _known_fields(
        cls, value: dict[str, dict[str, list[str]]]
    ) -> dict[str, dict[str, list[str]]]:
        property_maps(value)  # fail at start-up on an unknown field name
        return value

    def codec_config(self) -> CodecConfig:
        """The push codecs' configuration, built as ingest builds it (same variables)."""
        token = self.onenet_token.get_secret_value() if self.onenet_token else None
        return CodecConfig(
            onenet_token=token,
            # As in ingest: only development accepts unsigned OneNET pushes without a token.
            onenet_verify=token is not None or self.environment != "development",
            max_bytes=self.ingest_max_payload_bytes,
            ctwing_property_maps=property_maps(self.ctwing_property_maps),
            onenet_property_maps=property_maps(self.onenet_property_maps),
        )


def check_secret(secret: str, environment: str, variable: str) -> str:
    """Return ``secret`` or raise when it is a placeholder or too short outside development."""
    if environment != "development" and (
        secret.strip().lower() in PLACEHOLDER_SECRETS or len(secret) < MIN_SECRET_LENGTH
    ):
        raise ConfigurationError(
            f"{variable} must be a real secret of at least {MIN_SECRET_LENGTH} characters "
            f"in {environment}"
        )
    return secret
