"""Steps claimed ahead of a free sender: held at their host's share, handed back on stop."""

from __future__ import annotations

import threading

from tests.support import wait_until
from tests.support.alerting import (
    Received,
    alerting_settings,
    raise_event,
    receiver,
    running_alerting,
    scalar,
    seed_household,
)


def test_steps_claimed_ahead_wait_for_their_host_and_go_back_when_the_worker_stops(
    database_url: str, db
) -> None:
    release = threading.Event()

    def hold(_request: Received) -> tuple[int, bytes]:
        release.wait(20)  # bounded; the test releases it sooner
        return 200, b'{"errcode": 0}'

    with receiver(hold=hold) as rx:
        warm = seed_household(db, lambda name: [rx.url(f"ok/{name}")], tag="warm")
        held = seed_household(db, lambda name: [rx.url(f"hold/{name}")], tag="held")
        # Two senders, one host may hold one of them: its other pages are claimed ahead.
        settings = alerting_settings(
            database_url,
            alerting_workers=2,
            alerting_host_share=0.5,
            alerting_claim_ahead=4,
            alerting_request_timeout_s=25.0,  # the held send must not time out
            alerting_slow_send_s=25.0,
        )
        try:
            with running_alerting(settings) as service:
                raise_event(db, warm.device_id, "alarm")  # the host has answered well before
                wait_until(lambda: len(rx.seen("/ok/")) == 3, timeout=30)
                raise_event(db, held.device_id, "alarm")
                ids = list(held.contacts.values())

                def sending() -> int:
                    return scalar(
                        db,
                        "SELECT count(*) FROM notifications"
                        " WHERE contact_id = ANY(%s) AND status = 'sending'",
                        (ids,),
                    )

                wait_until(lambda: sending() == 3 and len(rx.seen("/hold/")) == 1, timeout=30)
                assert len(rx.seen("/hold/")) == 1, "one send at the host's share, two wait"
                service.stop()
                wait_until(lambda: sending() == 1, timeout=30)  # the two are handed back
                back = db.execute(
                    "SELECT status, last_error, channel_attempt FROM notifications"
                    " WHERE contact_id = ANY(%s) AND status = 'pending' AND wave = 1",
                    (ids,),
                ).fetchall()
                assert [(r["last_error"], r["channel_attempt"]) for r in back] == [
                    ("worker stopped", 0),
                    ("worker stopped", 0),
                ], "handed back unsent, at their place, due at once for another worker"
                release.set()
        finally:
            release.set()
        assert len(rx.seen("/hold/")) == 1, "nothing was sent after the stop"
