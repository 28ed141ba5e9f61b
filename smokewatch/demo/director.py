"""The people of the storyline: they answer the pages the alert engine really sent.

Nobody answers wave 1 of the kitchen fire; when the village cadre's wave-2 message has been
delivered, the cadre opens its link, acknowledges, and later reports a real fire caught early;
the monitoring centre's operator (played here too) then closes it with the cadre's outcome.
Nuisance alarms are acknowledged by whoever got the first page, once the detector has cleared,
reported as false alarms from cooking and closed by the operator. The people act through the
signed links in the delivered notifications (core.incidents), as a click in the inbox would;
a link never closes a fire, only the centre does.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Final

from core.db import connect
from core.errors import SmokewatchError
from core.incidents import (
    AckClaim,
    IncidentError,
    Party,
    acknowledge_by_link,
    report_by_link,
    resolve_incident,
    verify_ack_token,
)
from smokewatch.demo.story import FIRE_DEVICE, Pace

log = logging.getLogger(__name__)

_FIRE_PAGE = """
SELECT i.id, i.status, i.acknowledged_at, n.ack_url, c.name
FROM incidents i
JOIN notifications n ON n.incident_id = i.id AND n.status = 'delivered' AND n.wave = 2
JOIN contacts c ON c.id = n.contact_id AND c.role = 'village_cadre'
WHERE i.device_id = %(device)s AND i.kind = 'fire' AND i.status <> 'resolved'
  AND i.opened_at >= %(since)s
ORDER BY i.id DESC, n.id LIMIT 1
"""
_NUISANCE_PAGES = """
SELECT DISTINCT ON (i.id) i.id, i.status, n.ack_url, c.name
FROM incidents i
JOIN notifications n ON n.incident_id = i.id AND n.status = 'delivered' AND n.wave = 1
JOIN contacts c ON c.id = n.contact_id
WHERE i.kind = 'fire' AND i.status <> 'resolved' AND i.device_id <> %(device)s
  AND i.cleared_by_device_at IS NOT NULL AND i.cleared_by_device_at < now() - %(wait)s::interval
ORDER BY i.id, c.role = 'resident' DESC, n.id
LIMIT 20
"""
REAL_FIRE_NOTE: Final = "厨房锅具起火，村干部到场用灭火毯扑灭，老人安全，已通知家属。"
NUISANCE_NOTE: Final = "做饭油烟触发，现场无火情。"
OPERATOR: Final = "监控中心值班员（演示）"


class Director(threading.Thread):
    """Polls the database once a second and plays the people's part; bounded by ``stop``."""

    def __init__(self, database_url: str, secret: str, pace: Pace, since: Any) -> None:
        super().__init__(name="demo-director", daemon=True)
        self.database_url = database_url
        self.secret = secret
        self.pace = pace
        self.since = since
        self.stopped = threading.Event()
        self._fire_done = False
        self._acked_at: float | None = None

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            try:
                with connect(self.database_url, autocommit=True) as conn:
                    if not self._fire_done:
                        self._fire(conn)
                    self._nuisances(conn)
            except (SmokewatchError, IncidentError) as exc:
                log.warning("director: %s", exc)

    def _claim(self, ack_url: str) -> AckClaim:
        """What the page's link lets its contact do (the link ends with the token)."""
        return verify_ack_token(ack_url.rstrip("/").rsplit("/", 1)[-1], secret=self.secret)

    def _fire(self, conn: Any) -> None:
        row = conn.execute(_FIRE_PAGE, {"device": FIRE_DEVICE, "since": self.since}).fetchone()
        if row is None:
            return
        claim = self._claim(row["ack_url"])
        now = time.monotonic()
        if row["acknowledged_at"] is None:
            if self._acked_at is None:
                self._acked_at = now + self.pace.answer_after  # reading the SMS takes a moment
            if now >= self._acked_at:
                with conn.transaction():
                    acknowledge_by_link(conn, claim=claim)
                log.info("story: village cadre %s acknowledged incident %d", row["name"], row["id"])
                self._acked_at = now
            return
        if self._acked_at is None:
            self._acked_at = now  # acknowledged by someone clicking in the inbox first
        if now >= self._acked_at + self.pace.resolve_after:
            with conn.transaction():
                report_by_link(conn, claim=claim, outcome="real_fire", note=REAL_FIRE_NOTE)
                resolve_incident(
                    conn, incident_id=row["id"], actor=OPERATOR, outcome="real_fire",
                    party=Party.CENTRE,
                )  # fmt: skip
            log.info("story: incident %d resolved as a real fire caught early", row["id"])
            self._fire_done = True

    def _nuisances(self, conn: Any) -> None:
        wait = f"{int(self.pace.answer_after)} seconds"
        for row in conn.execute(_NUISANCE_PAGES, {"device": FIRE_DEVICE, "wait": wait}).fetchall():
            claim = self._claim(row["ack_url"])
            with conn.transaction():
                if row["status"] == "triggered":
                    acknowledge_by_link(conn, claim=claim)
                report_by_link(
                    conn, claim=claim, outcome="false_alarm", cause="cooking", note=NUISANCE_NOTE
                )
                resolve_incident(
                    conn, incident_id=row["id"], actor=OPERATOR, outcome="false_alarm",
                    cause="cooking", party=Party.CENTRE,
                )  # fmt: skip
            log.info("story: %s resolved incident %d as cooking smoke", row["name"], row["id"])
