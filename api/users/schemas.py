"""Users and API keys as the API reads and writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.types import Timestamp

StaffRole = Literal["administrator", "operator", "installer", "viewer"]
Locale = Literal["zh-CN", "en"]
USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$"


class UserCreate(BaseModel):
    """A new user; ``org_id`` null only for an administrator of the whole system."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=USERNAME_PATTERN)
    name: str = Field(default="", max_length=100)
    password: str = Field(min_length=10, max_length=1024)
    role: StaffRole
    org_id: int | None = Field(default=None, ge=1)
    locale: Locale = "zh-CN"


class UserUpdate(BaseModel):
    """Fields to change; a new password, role, scope or deactivation logs the user out."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=100)
    password: str | None = Field(default=None, min_length=10, max_length=1024)
    role: StaffRole | None = None
    org_id: int | None = Field(default=None, ge=1)
    locale: Locale | None = None
    active: bool | None = None


class UserRead(BaseModel):
    """A user (never the password hash)."""

    id: int
    username: str
    name: str
    role: StaffRole
    org_id: int | None
    org_name: str | None
    locale: str
    active: bool
    created_at: datetime
    updated_at: datetime
    last_login_at: datetime | None


class ApiKeyCreate(BaseModel):
    """A new API key for a machine client."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    role: StaffRole
    org_id: int | None = Field(default=None, ge=1)
    expires_at: Timestamp | None = None


class ApiKeyRead(BaseModel):
    """An API key as listed (the secret is never shown again)."""

    id: int
    key_id: str
    name: str
    role: StaffRole
    org_id: int | None
    created_by: int | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    """A key just created: ``key`` is shown this once; store it, it cannot be read back."""

    key: str
