"""What the registry domains (sites, contacts, devices, commissioning, roster) disclose to whom.

Who may call what is in api/deps.py: every staff role reads in its scope (``StaffDep``; viewer =
government read access, no phone numbers), installers on site create and update sites and
contacts and register, bind, replace and commission devices (``FieldWorkerDep``), the
monitoring centre also archives sites, removes devices and imports rosters (``OperatorDep``).
"""

from __future__ import annotations

from api.contacts.service import Disclosure
from api.deps import Caller


def disclosure(caller: Caller) -> Disclosure:
    """Administrators see channel secrets; viewers see neither phones nor channels."""
    if caller.role == "administrator":
        return "full"
    if caller.role == "viewer":
        return "summary"
    return "masked"
