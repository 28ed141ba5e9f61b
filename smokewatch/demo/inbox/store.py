"""What reached the demo inbox: kept in memory and appended to a JSON-lines file."""

from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

_LINK = re.compile(r"https?://\S+/a/[A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class InboxMessage:
    """One message as a phone received it."""

    id: int
    at: str
    channel: str  # sms, voice or wechat
    phone: str
    title: str
    body: str
    ack_url: str | None
    # The provider's id of an emulated SMS or call (press 1 / reply act on it); "" otherwise.
    ref: str = ""


class InboxStore:
    """Thread-safe list of messages, persisted so the inbox survives a demo restart."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._messages: list[InboxMessage] = []
        if path.exists():
            for line in path.read_bytes().splitlines():
                if line.strip():
                    self._messages.append(InboxMessage(**orjson.loads(line)))

    def add(
        self, *, channel: str, phone: str, title: str, body: str, ref: str = ""
    ) -> InboxMessage:
        """Store one arrival; the acknowledge link is found in the text."""
        link = _LINK.search(body)
        with self._lock:
            message = InboxMessage(
                id=len(self._messages) + 1,
                at=datetime.now(UTC).isoformat(timespec="seconds"),
                channel=channel,
                phone=phone,
                title=title,
                body=body,
                ack_url=link.group(0) if link else None,
                ref=ref,
            )
            self._messages.append(message)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as handle:
                handle.write(orjson.dumps(asdict(message)) + b"\n")
        return message

    def all(self) -> list[InboxMessage]:
        """Every message, oldest first."""
        with self._lock:
            return list(self._messages)

    def as_json(self, people: dict[str, dict[str, Any]]) -> bytes:
        """Messages with the recipient's name and role, for /api/messages."""
        rows = [asdict(m) | {"to": people.get(m.phone, {})} for m in self.all()]
        return orjson.dumps(rows, default=str)
