"""``python -m smokewatch.demo.life``: the simulated sub-district, its storyline and its people.

Run by the demo's supervisor. On the first start of a demo run the storyline is scheduled;
a restart after a crash (same ``SMOKEWATCH_DEMO_RUN_ID``) carries on with background life only.
"""

from __future__ import annotations

import logging
import signal
from datetime import UTC, datetime

from core.logging import setup_logging
from device_sim.detector import build_fleet, programme_ids
from device_sim.runner import Simulation
from device_sim.sinks import SharedSink
from smokewatch.demo.director import Director
from smokewatch.demo.seed.plan import DEVICE_PREFIX, HOUSEHOLDS, VENUES
from smokewatch.demo.seed.write import HEARTBEAT_S
from smokewatch.demo.settings import DemoSettings
from smokewatch.demo.story import PACES, schedule_background, schedule_story

log = logging.getLogger("smokewatch.demo.life")


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """Play the sub-district until the life span ends or SIGTERM."""
    settings = DemoSettings()
    setup_logging(settings)
    signal.signal(signal.SIGTERM, _stop)
    started = datetime.now(UTC)
    pace = PACES["short" if settings.demo_story == "short" else "full"]
    fleet = build_fleet(
        programme_ids(DEVICE_PREFIX, HOUSEHOLDS, VENUES), topic_prefix=settings.topic_prefix
    )
    sink = SharedSink(settings.mqtt, client_id=f"smokewatch-demo-life-{settings.demo_run_id}"[:60])
    sim = Simulation(fleet, sink, heartbeat_seconds=HEARTBEAT_S, time_scale=1.0)
    marker = settings.demo_dir / f"story-{settings.demo_run_id or 'once'}"
    if settings.demo_story != "off" and not marker.exists():
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
        for name, device, at in schedule_story(sim, pace):
            log.info("storyline: %s on %s at +%.0fs", name, device, at)
    duration = settings.demo_life_hours * 3600
    count = schedule_background(sim, pace, start=60.0, end=duration, seed=int(started.timestamp()))
    log.info("background life: %d random events over %.0f h", count, settings.demo_life_hours)
    director = None
    if settings.demo_alerting:
        director = Director(
            settings.database_url, settings.ack_secret.get_secret_value(), pace, started
        )
        director.start()
    else:
        log.info("no alert engine in this build: acknowledging and resolving are skipped")
    try:
        sim.run(duration=duration)
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        if director is not None:
            director.stopped.set()
        sink.close()


if __name__ == "__main__":
    main()
