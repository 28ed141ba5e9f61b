"""Operators' services on a real database: scope, filters, item shape, timeline, actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import DictRow

from api.events import service as events
from api.incidents import service as incidents
from api.readings import service as readings
from api.visibility import NotVisible
from api.work_orders import service as work_orders
from core.incidents import IncidentClosed
from tests.support.ops import World, page, raise_alarm, seed_world

Conn = psycopg.Connection[DictRow]


@pytest.fixture
def world(db: Conn) -> World:
    return seed_world(db)


def test_list_incidents_scope_hides_other_village(db: Conn, world: World) -> None:
    mine = raise_alarm(db, world.a.device_id)
    raise_alarm(db, world.b.device_id)

    listed = incidents.list_incidents(db, scope=world.a.scope)

    assert listed.total == 1
    assert [i.id for i in listed.items] == [mine]
    assert incidents.list_incidents(db, scope=world.everything).total == 2


def test_list_incidents_item_has_contract_shape(db: Conn, world: World) -> None:
    incident = raise_alarm(db, world.a.device_id)
    page(db, incident, world.a.contacts["resident"])
    page(db, incident, world.a.contacts["grid_worker"], outcome="failed", response="HTTP 500")

    item = incidents.list_incidents(db, scope=world.a.scope).items[0]

    assert item.device.room == "厨房"
    assert item.site.address == "南张村一组a号"
    assert item.site.resident_situation == ["独居", "行动不便"]
    assert item.village is not None and item.village.id == world.a.id
    assert [(p.name, p.channel, p.status) for p in item.paged] == [
        ("王a", "sms", "delivered"),
        ("孙网格a", "sms", "failed"),
    ]
    assert item.answered_by is None


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"status": "open"}, {"fire_a", "tamper_a"}),
        ({"status": "resolved"}, {"old_a"}),
        ({"kind": "tamper"}, {"tamper_a"}),
        ({"status": "triggered", "kind": "fire"}, {"fire_a"}),
        ({"outcome": "test"}, {"old_a"}),
        # Opened three days ago, closed just now: "recently closed" goes by the closing time.
        ({"resolved_since": datetime.now(UTC) - timedelta(days=1)}, {"old_a"}),
        ({"q": "no such place"}, set()),
        ({"q": "%"}, set()),  # a literal percent sign, not a wildcard
    ],
)
def test_list_incidents_filters_select_expected(
    db: Conn, world: World, filters: dict[str, str], expected: set[str]
) -> None:
    ids = {
        "old_a": raise_alarm(db, world.a.device_id, at=datetime.now(UTC) - timedelta(days=3)),
    }
    incidents.resolve(db, scope=world.a.scope, incident_id=ids["old_a"], actor="op", outcome="test")
    ids["fire_a"] = raise_alarm(db, world.a.device_id)
    ids["tamper_a"] = raise_alarm(db, world.a.device_id, event_type="tamper", kind="tamper")
    names = {v: k for k, v in ids.items()}

    listed = incidents.list_incidents(db, scope=world.everything, **filters)

    assert {names[i.id] for i in listed.items} == expected


def test_list_incidents_since_and_pagination_work(db: Conn, world: World) -> None:
    now = datetime.now(UTC)
    old = raise_alarm(db, world.a.device_id, at=now - timedelta(days=2))
    incidents.resolve(db, scope=world.everything, incident_id=old, actor="op", outcome="test")
    new_a = raise_alarm(db, world.a.device_id)
    new_b = raise_alarm(db, world.b.device_id, at=now - timedelta(minutes=1))

    listed = incidents.list_incidents(db, scope=world.everything, since=now - timedelta(days=1))
    assert listed.total == 2 and [i.id for i in listed.items] == [new_a, new_b]

    listed = incidents.list_incidents(
        db, scope=world.everything, limit=1, offset=1, sort="opened_at"
    )
    assert listed.total == 3 and [i.id for i in listed.items] == [new_b]
    listed = incidents.list_incidents(db, scope=world.everything, org_id=world.b.id)
    assert [i.id for i in listed.items] == [new_b]


def test_read_incident_outside_scope_is_not_visible(db: Conn, world: World) -> None:
    incident = raise_alarm(db, world.b.device_id)

    with pytest.raises(NotVisible):
        incidents.read_incident_detail(db, scope=world.a.scope, incident_id=incident)
    with pytest.raises(NotVisible):
        incidents.acknowledge(db, scope=world.a.scope, incident_id=incident, actor="op")


def test_read_incident_detail_has_timeline_and_attempts(db: Conn, world: World) -> None:
    incident = raise_alarm(db, world.a.device_id)
    raise_alarm(db, world.a.device_id)  # joins
    page(db, incident, world.a.contacts["resident"])
    incidents.acknowledge(
        db, scope=world.a.scope, incident_id=incident, actor="值班员张", note="已电话确认"
    )

    detail = incidents.read_incident_detail(db, scope=world.a.scope, incident_id=incident)

    actions = [t.action for t in detail.timeline]
    assert actions == ["opened", "event_joined", "acknowledged", "note"]
    assert detail.timeline[0].detail is not None
    assert detail.timeline[0].detail["event"]["type"] == "alarm"
    assert [(a.contact, a.channel, a.ok) for a in detail.attempts] == [("王a", "sms", True)]
    assert detail.answered_by == "值班员张"
    assert detail.status == "acknowledged"
    assert detail.note == "已电话确认"


def test_assign_incident_to_contact_above_site_works(db: Conn, world: World) -> None:
    incident = raise_alarm(db, world.a.device_id)

    item = incidents.assign(
        db, scope=world.a.scope, incident_id=incident, actor="op", contact_id=world.duty_desk
    )

    assert item.assigned_to is not None
    assert (item.assigned_to.id, item.assigned_to.name) == (world.duty_desk, "街道值班室")


def test_assign_incident_to_other_village_contact_is_refused(db: Conn, world: World) -> None:
    incident = raise_alarm(db, world.a.device_id)

    with pytest.raises(NotVisible):
        incidents.assign(
            db,
            scope=world.a.scope,
            incident_id=incident,
            actor="op",
            contact_id=world.b.contacts["grid_worker"],
        )


def test_resolve_incident_twice_is_closed(db: Conn, world: World) -> None:
    incident = raise_alarm(db, world.a.device_id)
    item = incidents.resolve(
        db,
        scope=world.a.scope,
        incident_id=incident,
        actor="op",
        outcome="false_alarm",
        cause="cooking",
        note="炒菜",
    )
    assert (item.status, item.outcome, item.false_alarm_cause) == (
        "resolved",
        "false_alarm",
        "cooking",
    )

    with pytest.raises(IncidentClosed):
        incidents.resolve(db, scope=world.a.scope, incident_id=incident, actor="op", outcome="test")


def _work_order(db: Conn, device_id: str, kind: str = "low_battery") -> int:
    row = db.execute(
        "INSERT INTO work_orders (device_id, site_id, kind, opened_at, last_event_at)"
        " SELECT id, site_id, %s, now(), now() FROM devices WHERE id = %s RETURNING id",
        (kind, device_id),
    ).fetchone()
    assert row is not None
    return int(row["id"])


def test_close_work_order_records_reason(db: Conn, world: World) -> None:
    order = _work_order(db, world.a.device_id)
    _work_order(db, world.b.device_id)

    listed = work_orders.list_work_orders(db, scope=world.a.scope, status="open")
    assert listed.total == 1 and listed.items[0].id == order
    assert listed.items[0].village is not None and listed.items[0].village.id == world.a.id
    closed = work_orders.close_work_order(
        db, scope=world.a.scope, work_order_id=order, reason="battery replaced"
    )

    assert (closed.status, closed.closed_reason) == ("closed", "battery replaced")
    with pytest.raises(work_orders.WorkOrderClosed):
        work_orders.close_work_order(db, scope=world.a.scope, work_order_id=order, reason="again")


def test_assign_work_order_outside_scope_is_not_visible(db: Conn, world: World) -> None:
    order = _work_order(db, world.b.device_id)

    with pytest.raises(NotVisible):
        work_orders.assign_work_order(
            db, scope=world.a.scope, work_order_id=order, contact_id=world.a.contacts["grid_worker"]
        )
    item = work_orders.assign_work_order(
        db, scope=world.b.scope, work_order_id=order, contact_id=world.b.contacts["grid_worker"]
    )
    assert item.assigned_to is not None and item.assigned_to.name == "孙网格b"


def test_list_events_filters_by_type_and_scope(db: Conn, world: World) -> None:
    raise_alarm(db, world.a.device_id)
    raise_alarm(db, world.a.device_id, event_type="tamper", kind="tamper")
    raise_alarm(db, world.b.device_id)

    total, capped, items = events.list_events(db, scope=world.a.scope, event_type="tamper")

    assert (total, capped) == (1, False)
    assert items[0]["device_id"] == world.a.device_id and items[0]["type"] == "tamper"
    total, _, _ = events.list_events(db, scope=world.everything)
    assert total == 3


def _readings(db: Conn, device_id: str, start: datetime, minutes: int) -> None:
    with db.cursor() as cur:
        cur.executemany(
            "INSERT INTO readings (device_id, ts, received_at, msg_key, temperature_c,"
            " battery_pct) VALUES (%s, %s, %s, %s, %s, %s)",
            [
                (
                    device_id,
                    start + timedelta(minutes=m),
                    start + timedelta(minutes=m),
                    m,
                    20.0 + m % 10,
                    90.0 - m / 100,
                )
                for m in range(minutes)
            ],
        )


def test_device_readings_bucket_hourly_averages(db: Conn, world: World) -> None:
    start = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    _readings(db, world.a.device_id, start, 120)

    series = readings.device_readings(
        db,
        scope=world.a.scope,
        device_id=world.a.device_id,
        since=start,
        until=start + timedelta(hours=2),
        bucket="1h",
    )

    buckets = series["buckets"]
    assert [b["bucket"] for b in buckets] == [start, start + timedelta(hours=1)]
    assert [b["samples"] for b in buckets] == [60, 60]
    assert buckets[0]["temperature_avg"] == pytest.approx(24.5)
    assert buckets[0]["temperature_max"] == pytest.approx(29.0)


def test_device_readings_raw_are_in_range_and_scoped(db: Conn, world: World) -> None:
    start = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    _readings(db, world.a.device_id, start, 30)

    series = readings.device_readings(
        db,
        scope=world.a.scope,
        device_id=world.a.device_id,
        since=start + timedelta(minutes=10),
        until=start + timedelta(minutes=20),
    )

    assert len(series["readings"]) == 10
    with pytest.raises(NotVisible):
        readings.device_readings(db, scope=world.b.scope, device_id=world.a.device_id)
    with pytest.raises(NotVisible):
        readings.device_status(db, scope=world.b.scope, device_id=world.a.device_id)


def test_move_site_carries_incident_and_work_order_org(db: Conn, world: World) -> None:
    incident = raise_alarm(db, world.a.device_id)
    order = _work_order(db, world.a.device_id)
    org = db.execute("SELECT org_id FROM incidents WHERE id = %s", (incident,)).fetchone()
    assert org is not None and org["org_id"] == world.a.id

    db.execute("UPDATE sites SET org_id = %s WHERE id = %s", (world.b.id, world.a.site_id))

    moved = db.execute("SELECT org_id FROM incidents WHERE id = %s", (incident,)).fetchone()
    assert moved is not None and moved["org_id"] == world.b.id
    listed = work_orders.list_work_orders(db, scope=world.b.scope)
    assert listed.total == 1 and listed.items[0].id == order
