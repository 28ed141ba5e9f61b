"""The notification-backlog gauges tell the truth while a storm lasts (issue 22).

They were set only by the self-watch, every 30 s: a storm that is over in 20 s could come and go
between two rounds without the gauges (and the backlog alert) ever seeing it.
"""

from __future__ import annotations

import threading

from prometheus_client import REGISTRY

from alerting import metrics
from tests.support import wait_until
from tests.support.alerting import (
    Received,
    alerting_settings,
    raise_event,
    receiver,
    running_alerting,
    seed_household,
)


def _due_unsent() -> float:
    return REGISTRY.get_sample_value("smokewatch_alerting_due_unsent") or 0.0


def test_backlog_gauges_show_pages_waiting_for_senders_and_their_end(database_url: str, db) -> None:
    release = threading.Event()

    def hold(_request: Received) -> tuple[int, bytes]:
        release.wait(20)  # bounded; the test releases it sooner
        return 200, b'{"errcode": 0}'

    metrics.DUE_UNSENT.set(0)
    with receiver(hold=hold) as rx:
        houses = [
            seed_household(db, lambda name: [rx.url(f"hold/{name}")], tag=f"gauge{n}")
            for n in range(3)
        ]
        # Two senders, nothing claimed ahead, the self-watch far away (tests: once an hour).
        settings = alerting_settings(
            database_url,
            alerting_workers=2,
            alerting_claim_ahead=0,
            alerting_request_timeout_s=25.0,
            alerting_slow_send_s=25.0,
        )
        try:
            with running_alerting(settings):
                for house in houses:
                    raise_event(db, house.device_id, "alarm")
                # Nine wave-1 pages, at most two in flight: the rest wait, and the gauges say so.
                wait_until(lambda: _due_unsent() >= 5, timeout=15)
                age = REGISTRY.get_sample_value("smokewatch_alerting_queue_age_seconds")
                assert age is not None and age >= 0
                release.set()
                wait_until(lambda: _due_unsent() == 0, timeout=30)
        finally:
            release.set()
