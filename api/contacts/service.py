"""Contacts: list, read, create, update and deactivate, always inside the caller's scope."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import psycopg

from api.contacts.channels import channel_problem, mask_channel, policy_problem
from api.contacts.schemas import ContactCreate, ContactRead, ContactUpdate
from api.errors import BadRequest, Forbidden, NotFound
from api.lists import ListParams, Page, fetch_page
from api.registry_common import Scope, assignments, compose
from core.db import load_queries

Q = load_queries("api.contacts", "queries.sql")

Disclosure = Literal["full", "masked", "summary"]
"""full: as stored (administrators); masked: channel secrets hidden (staff); summary: no phone
numbers and no channels (government read access)."""


@dataclass(frozen=True, slots=True)
class ChannelRules:
    """Which channel schemes this deployment accepts, and whether the caller may set channels
    and (de)activate contacts (operators and administrators; installers only add people)."""

    schemes: tuple[str, ...]
    environment: str
    may_manage: bool

    def check(self, urls: Iterable[str]) -> None:
        for index, url in enumerate(urls):
            problem = policy_problem(url, schemes=self.schemes, environment=self.environment)
            if problem:
                raise BadRequest(f"channel {index + 1}: {problem}")


def present(row: dict[str, Any], *, disclosure: Disclosure) -> ContactRead:
    """A contact row as this caller may see it."""
    contact = ContactRead.from_row(row)
    if disclosure == "masked":
        contact.channels = [mask_channel(url) for url in contact.channels]
    elif disclosure == "summary":
        contact.channels = []
        contact.phone = mask_phone(contact.phone)
    return contact


def mask_phone(phone: str | None) -> str | None:
    """``13800000002`` -> ``*********02`` (viewers see that someone can be called, not whom)."""
    if not phone:
        return phone
    digits = phone.strip()
    return "*" * (len(digits) - 2) + digits[-2:] if len(digits) >= 8 else "****"


def list_contacts(
    conn: psycopg.Connection[Any],
    *,
    scope: Scope,
    disclosure: Disclosure,
    site_id: int | None = None,
    org_id: int | None = None,
    role: str | None = None,
    include_inactive: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> Page[ContactRead]:
    """Contacts in scope, by site, organisation and role, in paging order."""
    params = {
        "scope": list(scope),
        "site_id": site_id,
        "org_id": org_id,
        "role": role,
        "include_inactive": include_inactive,
    }
    return fetch_page(
        conn, Q["list_contacts"], params, page=ListParams(limit=limit, offset=offset),
        model=ContactRead, item=lambda row: present(row, disclosure=disclosure),
        count=Q["count_contacts"],
    )  # fmt: skip


def read_contact(
    conn: psycopg.Connection[Any], *, scope: Scope, contact_id: int, disclosure: Disclosure
) -> ContactRead:
    """One contact; 404 outside scope."""
    return present(_get(conn, scope=scope, contact_id=contact_id), disclosure=disclosure)


def _get(conn: psycopg.Connection[Any], *, scope: Scope, contact_id: int) -> dict[str, Any]:
    row = conn.execute(
        Q["get_contact"], {"contact_id": contact_id, "scope": list(scope)}
    ).fetchone()
    if row is None:
        raise NotFound("no such contact")
    return dict(row)


def create_contact(
    conn: psycopg.Connection[Any],
    *,
    scope: Scope,
    data: ContactCreate,
    disclosure: Disclosure,
    rules: ChannelRules,
) -> ContactRead:
    """Add a contact to a site or an organisation of the caller's scope."""
    if data.channels and not rules.may_manage:
        raise Forbidden("only operators and administrators set a contact's channels")
    if not data.active and not rules.may_manage:
        raise Forbidden("only operators and administrators deactivate contacts")
    rules.check(data.channels)
    params = {"scope": list(scope), "site_id": data.site_id, "org_id": data.org_id}
    if data.site_id is not None:
        if conn.execute(Q["site_in_scope"], params).fetchone() is None:
            raise NotFound("no such site")
    elif conn.execute(Q["org_in_scope"], params).fetchone() is None:
        raise NotFound("no such organisation")
    row = conn.execute(Q["insert_contact"], data.model_dump()).fetchone()
    assert row is not None
    return present(row, disclosure=disclosure)


def update_contact(
    conn: psycopg.Connection[Any],
    *,
    scope: Scope,
    contact_id: int,
    data: ContactUpdate,
    disclosure: Disclosure,
    rules: ChannelRules,
) -> ContactRead:
    """Change the fields sent; masked channels sent back keep the stored secret."""
    current = _get(conn, scope=scope, contact_id=contact_id)
    values = data.model_dump(exclude_unset=True)
    if not rules.may_manage and ("channels" in values or "active" in values):
        raise Forbidden("only operators and administrators change channels or deactivate")
    if "channels" in values:
        values["channels"] = _resolve_masked(values["channels"], current["channels"], rules)
    start = values.get("quiet_hours_start", current["quiet_hours_start"])
    end = values.get("quiet_hours_end", current["quiet_hours_end"])
    if (start is None) != (end is None):
        raise BadRequest("quiet hours need both a start and an end")
    if not values:
        return present(current, disclosure=disclosure)
    query = compose(Q["update_contact"], assignments=assignments(list(values)))
    row = conn.execute(query, {**values, "contact_id": contact_id}).fetchone()
    assert row is not None
    return present(row, disclosure=disclosure)


def _resolve_masked(sent: list[str], stored: list[str], rules: ChannelRules) -> list[str]:
    by_mask = {mask_channel(url): url for url in stored}
    resolved = []
    for index, url in enumerate(sent):
        if url in by_mask:
            resolved.append(by_mask[url])
            continue
        problem = channel_problem(url) or policy_problem(
            url, schemes=rules.schemes, environment=rules.environment
        )
        if problem:
            raise BadRequest(f"channel {index + 1}: {problem}")
        resolved.append(url)
    return resolved


def deactivate_contact(
    conn: psycopg.Connection[Any], *, scope: Scope, contact_id: int, disclosure: Disclosure
) -> ContactRead:
    """Stop paging a contact; the row stays so incident logs keep naming who was told."""
    _get(conn, scope=scope, contact_id=contact_id)
    row = conn.execute(Q["deactivate_contact"], {"contact_id": contact_id}).fetchone()
    assert row is not None
    return present(row, disclosure=disclosure)
