"""Who may do what to an incident (core.incidents, the shared contract): the field says "on my
way" and reports; only the centre silences the board, stops the supervisors and closes a fire."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alerting.processor import EventProcessor
from core.incidents import (
    FieldCannotClose,
    IncidentClosed,
    Party,
    acknowledge_incident,
    report_incident,
    resolve_incident,
)
from tests.support.alerting import alerting_settings, raise_event, scalar, seed_household

NOW = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)


def opened(database_url: str, db, event: str = "alarm") -> tuple[int, dict[str, int]]:
    house = seed_household(db, lambda name: [f"json://127.0.0.1:9/{name}"])
    raise_event(db, house.device_id, event, priority=1 if event == "alarm" else 2)
    processor = EventProcessor(alerting_settings(database_url), lambda: NOW)
    while processor.process_one(db) is not None:
        pass
    return scalar(db, "SELECT id FROM incidents"), house.contacts


@pytest.mark.parametrize(
    ("event", "party", "closes"),
    [
        ("alarm", Party.FIELD, False),
        ("high_temperature", Party.FIELD, False),
        ("tamper", Party.FIELD, True),
        ("alarm", Party.CENTRE, True),
        ("high_temperature", Party.CENTRE, True),
    ],
)
def test_resolve_incident_only_centre_closes_fire_and_heat(
    database_url: str, db, event: str, party: Party, closes: bool
) -> None:
    incident_id, contacts = opened(database_url, db, event)

    def close() -> dict:
        return resolve_incident(
            db, incident_id=incident_id, actor="x", outcome="test", party=party,
            contact_id=contacts["family"] if party == Party.FIELD else None,
        )  # fmt: skip

    if closes:
        assert close()["status"] == "resolved"
    else:
        with pytest.raises(FieldCannotClose):
            close()
        assert scalar(db, "SELECT status FROM incidents") == "triggered"
        assert scalar(db, "SELECT count(*) FROM incident_log WHERE action = 'resolved'") == 0


def test_acknowledge_incident_field_stops_pages_but_not_the_centre_escalation(
    database_url: str, db
) -> None:
    incident_id, contacts = opened(database_url, db)
    assert scalar(db, "SELECT escalate_at IS NOT NULL AND round_at IS NOT NULL FROM incidents")

    field = acknowledge_incident(
        db, incident_id=incident_id, actor="王小明", contact_id=contacts["family"], now=NOW
    )

    assert (field["status"], field["field_contact_id"]) == ("acknowledged", contacts["family"])
    assert field["centre_acknowledged_at"] is None and field["escalate_at"] is not None
    assert field["round_at"] is None
    assert scalar(db, "SELECT count(*) FROM notifications WHERE status = 'pending'") == 0
    again = acknowledge_incident(db, incident_id=incident_id, actor="someone", now=NOW)
    assert again["field_acknowledged_by"] == "王小明"  # the field's first answer stays

    centre = acknowledge_incident(
        db, incident_id=incident_id, actor="值班员", party=Party.CENTRE, now=NOW
    )

    assert (centre["centre_acknowledged_by"], centre["escalate_at"]) == ("值班员", None)
    assert centre["acknowledged_by"] == "王小明"  # who answered first is kept
    parties = [
        r["detail"]["by"]
        for r in db.execute(
            "SELECT detail FROM incident_log WHERE action = 'acknowledged' ORDER BY id"
        )
    ]
    assert parties == ["field", "centre"]


def test_report_incident_keeps_it_open_for_the_centre(database_url: str, db) -> None:
    incident_id, contacts = opened(database_url, db)

    reported = report_incident(
        db, incident_id=incident_id, actor="王小明", outcome="false_alarm", cause="cooking",
        note="炒菜", contact_id=contacts["family"], now=NOW,
    )  # fmt: skip

    assert (reported["status"], reported["report_outcome"], reported["outcome"]) == (
        "reported",
        "false_alarm",
        None,
    )
    assert reported["acknowledged_at"] == NOW and reported["centre_acknowledged_at"] is None
    closed = resolve_incident(
        db, incident_id=incident_id, actor="值班员", outcome="real_fire", party=Party.CENTRE
    )
    # The centre's outcome is final; the report stays for the record.
    assert (closed["outcome"], closed["report_outcome"]) == ("real_fire", "false_alarm")
    assert closed["centre_acknowledged_by"] == "值班员"
    with pytest.raises(IncidentClosed):
        report_incident(db, incident_id=incident_id, actor="late", outcome="test")
