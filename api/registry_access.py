"""Who may do what in the registry domains (sites, contacts, devices, commissioning, roster).

- read: every staff role in its scope (viewer = government read access, no phone numbers).
- field work (installers on site): create and update sites and contacts, register, bind,
  replace and commission devices.
- manage (monitoring centre): also archive sites, remove devices, import rosters.
"""

from __future__ import annotations

from typing import Annotated, Final

from api.contacts.service import Disclosure
from api.deps import Caller, Role, require

READ_ROLES: Final[tuple[Role, ...]] = ("administrator", "operator", "installer", "viewer")
FIELD_ROLES: Final[tuple[Role, ...]] = ("administrator", "operator", "installer")
MANAGE_ROLES: Final[tuple[Role, ...]] = ("administrator", "operator")

Reader = Annotated[Caller, require(*READ_ROLES)]
FieldWorker = Annotated[Caller, require(*FIELD_ROLES)]
Manager = Annotated[Caller, require(*MANAGE_ROLES)]


def disclosure(caller: Caller) -> Disclosure:
    """Administrators see channel secrets; viewers see neither phones nor channels."""
    if caller.role == "administrator":
        return "full"
    if caller.role == "viewer":
        return "summary"
    return "masked"


def actor(caller: Caller) -> str:
    """How the caller is named in histories and records."""
    return f"{caller.kind}:{caller.username or caller.name}"
