"""Escalation policies overridden per village and per site; SMS short enough to send."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from psycopg.types.json import Jsonb

from alerting.processor import EventProcessor
from alerting.render import SMS_MAX_CHARS, render
from tests.support.alerting import alerting_settings, raise_event, seed_household


def test_village_and_site_overrides_shape_the_waves(database_url: str, db) -> None:
    house = seed_household(db, lambda name: [f"json://127.0.0.1:9/{name}"])
    db.execute(
        "INSERT INTO escalation_policies (org_id, config) VALUES (%s, %s)",
        (house.village_id, Jsonb({"wave_delays_s": [0, 60, 90], "repeat_last": 5})),
    )
    db.execute(
        "INSERT INTO escalation_policies (site_id, config) VALUES (%s, %s)",
        (house.site_id, Jsonb({"repeat_last": 2, "repeat_every_s": 30})),
    )
    now = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    processor = EventProcessor(alerting_settings(database_url), lambda: now)
    raise_event(db, house.device_id, "alarm")
    while processor.process_one(db):
        pass
    rows = db.execute(
        "SELECT wave, round, due_at FROM notifications ORDER BY due_at, wave, round"
    ).fetchall()
    offsets = sorted({(r["wave"], r["round"], (r["due_at"] - now).total_seconds()) for r in rows})
    # village: wave 2 after 60 s, wave 3 after 90 s; site: last wave twice more, every 30 s.
    assert offsets == [(1, 0, 0.0), (2, 0, 60.0), (3, 0, 90.0), (3, 1, 120.0), (3, 2, 150.0)]
    assert sum(1 for r in rows if r["wave"] == 1) == 3
    assert max(r["due_at"] for r in rows) - now == timedelta(seconds=150)


def test_sms_fits_and_keeps_the_ack_link() -> None:
    values = {
        "address": "济宁市任城区南张街道南张村三组一百二十三号院内东侧平房" * 2,
        "room": "厨房",
        "resident": "王秀英",
        "situation": "独居、行动不便、听力差",
        "site_phone": "0537-1234567",
        "others": "王小明(家属)、孙网格(网格员)、周村委(村干部)",
        "ack_url": "https://sw.example/a/2n.1k.tbd2yo.Qm9vb2Jvb2Jvb2Jvb2Jvbw",
        "site_name": "王秀英家",
        "key_holder": "",
        "time": "11-27 10:00",
    }
    message = render("fire", "sms", "zh-CN", values)
    assert len(message.body) <= SMS_MAX_CHARS
    assert values["ack_url"] in message.body
    assert "济宁市任城区南张街道" in message.body
    names = values | {"address": "南张村三组1号", "others_names": "王小明、孙网格、周村委"}
    short = render("fire", "sms", "zh-CN", names)
    assert len(short.body) <= SMS_MAX_CHARS
    assert "王小明、孙网格、周村委" in short.body and "独居" in short.body
    assert values["ack_url"] in short.body
    english = render("fire", "chat", "en", values)
    assert english.title.startswith("[FIRE]")


def test_repeats_fall_to_the_last_wave_with_people(database_url: str, db) -> None:
    house = seed_household(db, lambda name: [f"json://127.0.0.1:9/{name}"])
    db.execute("DELETE FROM contacts WHERE role = 'duty_desk'")  # wave 3 has nobody
    now = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    settings = alerting_settings(database_url, alerting_repeat_last=2)
    processor = EventProcessor(settings, lambda: now)
    raise_event(db, house.device_id, "alarm")
    while processor.process_one(db):
        pass
    repeats = db.execute(
        "SELECT wave, count(*) AS n FROM notifications WHERE round > 0 GROUP BY wave"
    ).fetchall()
    assert [(r["wave"], r["n"]) for r in repeats] == [(2, 6)]  # 3 people of wave 2, twice
