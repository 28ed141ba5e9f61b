"""``/api/v1/users`` and ``/api/v1/api-keys``: administrators only, inside their scope."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from api.deps import AdminDep, ConnDep, PasswordsDep
from api.lists import ListDep, Page
from api.users import service
from api.users.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    StaffRole,
    UserCreate,
    UserRead,
    UserUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["users"])
IdPath = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/users", response_model=Page[UserRead])
def read_users(
    *,
    conn: ConnDep,
    caller: AdminDep,
    page: ListDep,
    role: StaffRole | None = None,
    active: bool | None = None,
    org_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> Page[UserRead]:
    """Users in your scope (sort: username, name, role, created_at, last_login_at, id)."""
    return service.list_users(
        conn, caller=caller, page=page, role=role, active=active, org_id=org_id, q=q
    )


@router.post("/users", response_model=UserRead, status_code=201)
def create_user(
    data: UserCreate, conn: ConnDep, caller: AdminDep, passwords: PasswordsDep
) -> UserRead:
    """Create a user in your scope."""
    return service.create_user(conn, caller=caller, data=data, passwords=passwords)


@router.get("/users/{user_id}", response_model=UserRead)
def read_user(user_id: IdPath, conn: ConnDep, caller: AdminDep) -> UserRead:
    """One user in your scope."""
    return service.read_user(conn, caller=caller, user_id=user_id)


@router.patch("/users/{user_id}", response_model=UserRead)
def update_user(
    user_id: IdPath, data: UserUpdate, conn: ConnDep, caller: AdminDep, passwords: PasswordsDep
) -> UserRead:
    """Change a user; a new password, role, scope or deactivation logs them out everywhere."""
    return service.update_user(conn, caller=caller, user_id=user_id, data=data, passwords=passwords)


@router.delete("/users/{user_id}", status_code=204)
def delete_user(user_id: IdPath, conn: ConnDep, caller: AdminDep) -> Response:
    """Deactivate a user (kept for the audit trail) and log them out."""
    service.delete_user(conn, caller=caller, user_id=user_id)
    return Response(status_code=204)


@router.get("/api-keys", response_model=Page[ApiKeyRead])
def read_api_keys(
    conn: ConnDep, caller: AdminDep, page: ListDep, include_revoked: bool = False
) -> Page[ApiKeyRead]:
    """API keys in your scope (sort: id, name, created_at)."""
    return service.list_api_keys(conn, caller=caller, page=page, include_revoked=include_revoked)


@router.post("/api-keys", response_model=ApiKeyCreated, status_code=201)
def create_api_key(data: ApiKeyCreate, conn: ConnDep, caller: AdminDep) -> ApiKeyCreated:
    """Create a key; the response's ``key`` is shown once and stored only as a digest."""
    return service.create_api_key(conn, caller=caller, data=data)


@router.delete("/api-keys/{key_id}", status_code=204)
def delete_api_key(key_id: IdPath, conn: ConnDep, caller: AdminDep) -> Response:
    """Revoke a key at once."""
    service.delete_api_key(conn, caller=caller, key_id=key_id)
    return Response(status_code=204)
