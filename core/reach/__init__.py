"""Whether a person was reached: provider receipts, keypresses and SMS replies (issue 18).

The API records what a provider pushes (``api/callbacks``); the effects live here so that they
are the same whoever calls them: an attempt's reach is updated, a person not reached moves to
the next channel (or the next contact) at once, and a keypress or a reply of 1 acknowledges
the incident as that contact through core/incidents, exactly as the link does.
"""

from core.reach.apply import apply_receipt, apply_reply
from core.reach.records import Receipt, Reply, callback_token_ok, phone_key

__all__ = ["Receipt", "Reply", "apply_receipt", "apply_reply", "callback_token_ok", "phone_key"]
