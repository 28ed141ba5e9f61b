"""A fire alarm never pages nobody because of bad household data: a broken policy override gives
way to the defaults, a contact with bad data is skipped, and an alarm whose household still
cannot be paged pages the monitoring centre at once, with the device and the site."""

from __future__ import annotations

import logging
from datetime import timedelta

from psycopg.types.json import Jsonb

from alerting.policy import EscalationPolicy, policy_for_site
from alerting.processor import MAX_EVENT_ATTEMPTS, EventProcessor
from tests.support import Clock
from tests.support.alerting import alerting_settings, raise_event, receiver, scalar, seed_household

PAGES_PER_INCIDENT = 7  # wave 1: 3, wave 2: 3, wave 3: 1 (no repeats in the tests' settings)


def channels(name: str) -> list[str]:
    return [f"json://127.0.0.1:9/{name}"]


def centre_messages(rx) -> list[str]:
    return [r.json()["message"] for r in rx.seen("/ok/centre")]


def test_fire_pages_with_default_policy_and_without_bad_contact(
    database_url: str, db, caplog
) -> None:
    houses = [seed_household(db, channels, tag=f"b{n}") for n in range(3)]
    broken = houses[1]
    override = scalar(
        db,
        "INSERT INTO escalation_policies (site_id, config) VALUES (%s, %s) RETURNING id",
        (broken.site_id, Jsonb({"wave_delays_s": [0], "repeat_every_s": "soon"})),
    )
    family = broken.contacts["family"]
    db.execute("UPDATE contacts SET channels = ARRAY[NULL]::text[] WHERE id = %s", (family,))
    resident = broken.contacts["resident"]
    db.execute(
        "UPDATE contacts SET channels = ARRAY['13800000000', 'json://127.0.0.1:9/r'] WHERE id = %s",
        (resident,),
    )
    for house in houses:
        raise_event(db, house.device_id, "alarm")
    with receiver() as rx:
        settings = alerting_settings(database_url, alerting_monitoring_urls=[rx.url("ok/centre")])
        processor = EventProcessor(settings, Clock())
        with caplog.at_level(logging.ERROR):
            handled = processor.process_batch(db, limit=10)

        full, less_one = PAGES_PER_INCIDENT, PAGES_PER_INCIDENT - 1
        assert [h.planned for h in handled] == [full, less_one, full]
        assert rx.seen() == [], "every household was paged: the centre is not"
    assert scalar(db, "SELECT count(*) FROM pending_events") == 0
    assert scalar(db, "SELECT count(*) FROM dead_letters") == 0
    paged = db.execute(
        "SELECT n.contact_id, n.wave, n.due_at - i.opened_at AS after, n.channels"
        " FROM notifications n JOIN incidents i ON i.id = n.incident_id"
        " WHERE i.device_id = %s ORDER BY n.wave, n.contact_id",
        (broken.device_id,),
    ).fetchall()
    assert family not in {r["contact_id"] for r in paged}
    # The default waves (wave 2 after 600 s in the tests' settings), not the broken override.
    assert {r["after"] for r in paged if r["wave"] == 2} == {timedelta(seconds=600)}
    assert [r["channels"] for r in paged if r["contact_id"] == resident] == [
        ["json://127.0.0.1:9/r"]
    ]
    messages = [r.getMessage() for r in caplog.records]
    assert any(f"override {override} is broken" in m and "repeat_every_s" in m for m in messages)
    assert any(f"contact {family} has bad data" in m and "skipped" in m for m in messages)
    assert any(f"contact {resident} has bad data" in m for m in messages)
    # The fire's rounds, re-pages and notices read the policy one site at a time: same fallback.
    assert policy_for_site(db, broken.site_id, settings) == EscalationPolicy.defaults(settings)


def test_fire_with_nobody_usable_to_page_pages_the_centre_at_once(database_url: str, db) -> None:
    house = seed_household(db, channels, tag="alone", with_village_contacts=False)
    db.execute(
        "UPDATE contacts SET channels = ARRAY['not a url'] WHERE site_id = %s", (house.site_id,)
    )
    raise_event(db, house.device_id, "alarm")
    with receiver() as rx:
        settings = alerting_settings(database_url, alerting_monitoring_urls=[rx.url("ok/centre")])

        (handled,) = EventProcessor(settings, Clock()).process_batch(db, limit=10)

        assert handled.incident_id is not None and handled.planned == 0
        (message,) = centre_messages(rx)
    assert house.device_id in message and "王秀英家 alone" in message
    assert "nobody usable to page" in message


def test_fire_that_cannot_open_its_incident_pages_the_centre_then_is_parked(
    database_url: str, db
) -> None:
    houses = [seed_household(db, channels, tag=f"p{n}") for n in range(4)]
    poison = houses[2].device_id
    # Data no fallback can mend: the incident itself cannot be written for this device.
    db.execute(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN RAISE EXCEPTION 'incident refused for %', NEW.device_id; END $$"
    )
    db.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON incidents FOR EACH ROW"
        f" WHEN (NEW.device_id = '{poison}') EXECUTE FUNCTION refuse()"
    )
    for house in houses:
        raise_event(db, house.device_id, "alarm")
    clock = Clock()
    with receiver() as rx:
        settings = alerting_settings(database_url, alerting_monitoring_urls=[rx.url("ok/centre")])
        processor = EventProcessor(settings, clock)

        handled = processor.process_batch(db, limit=10)

        assert [h.planned for h in handled] == [PAGES_PER_INCIDENT] * 2 + [0, PAGES_PER_INCIDENT]
        (first,) = centre_messages(rx)
        assert poison in first and "incident refused" in first and "retrying" in first
        for _ in range(MAX_EVENT_ATTEMPTS):
            clock.now += timedelta(minutes=1)  # past the retry delay
            processor.process_batch(db, limit=10)
        assert scalar(db, "SELECT count(*) FROM pending_events") == 0
        assert scalar(db, "SELECT count(*) FROM dead_letters WHERE device_id = %s", (poison,)) == 1
        first_again, parked = centre_messages(rx)
    assert first_again == first, "retries in between page the centre no more"
    assert poison in parked and f"parked after {MAX_EVENT_ATTEMPTS} attempts" in parked
