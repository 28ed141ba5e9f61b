"""Login, logout and "who am I"."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class LoginCreate(BaseModel):
    """Credentials of a user."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class UserBrief(BaseModel):
    """The logged-in user, as the pages show them."""

    id: int
    username: str
    role: str
    name: str


class TokenRead(BaseModel):
    """A login token (also set as the ``sw_session`` cookie)."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - not a secret
    expires_at: datetime
    user: UserBrief


class OrganisationBrief(BaseModel):
    """An organisation named by id, code and name."""

    id: int
    code: str
    name: str
    level: str
    path: str


class MeRead(BaseModel):
    """The caller: a user, an API key or a relative link."""

    kind: str
    id: int
    name: str
    role: str
    username: str | None = None
    organisation: OrganisationBrief | None = None
    scope_paths: list[str]
    locale: str | None = None


class PasswordUpdate(BaseModel):
    """Change one's own password: the current one proves it is really you."""

    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=10, max_length=1024)


class DisplayCreate(BaseModel):
    """Body of POST /api/v1/auth/display: an API key made for a wall screen."""

    model_config = ConfigDict(extra="forbid")

    api_key: Annotated[str, StringConstraints(min_length=8, max_length=200)]
