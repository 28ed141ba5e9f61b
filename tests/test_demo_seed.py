"""The demo's seed: the Nanzhang programme written to a real, migrated database."""

from __future__ import annotations

import psycopg
from psycopg.rows import DictRow

from smokewatch.demo.seed import DEMO_MODEL, is_test_phone, plan_programme, seed


def scalar(db: psycopg.Connection[DictRow], query: str) -> object:
    row = db.execute(query).fetchone()
    assert row is not None
    return next(iter(row.values()))


def table_counts(db: psycopg.Connection[DictRow]) -> dict[str, object]:
    return {
        t: scalar(db, f"SELECT count(*) FROM {t}")
        for t in ("organisations", "sites", "contacts", "devices", "device_state")
    }


def test_seed_writes_the_programme(db: psycopg.Connection[DictRow]) -> None:
    report = seed(db, inbox_port=8765)
    assert (report.households, report.venues, report.devices) == (283, 131, 414)
    kinds = db.execute("SELECT kind, count(*) AS n FROM sites GROUP BY kind").fetchall()
    assert {r["kind"]: r["n"] for r in kinds} == {"household": 283, "venue": 131}
    assert scalar(db, f"SELECT count(*) FROM devices WHERE model_code = '{DEMO_MODEL}'") == 414
    assert scalar(db, "SELECT count(*) FROM devices WHERE commissioned_at IS NULL") == 0
    assert scalar(db, "SELECT count(*) FROM device_state") == 414
    # Jining > Rencheng > Nanzhang > village > grid: every site hangs off a grid.
    assert (
        scalar(
            db,
            "SELECT count(*) FROM sites s JOIN organisations o ON o.id = s.org_id"
            " WHERE o.level <> 'grid' OR o.path !~ '^\\d+\\.\\d+\\.\\d+\\.\\d+\\.\\d+\\.$'",
        )
        == 0
    )


def test_seed_gives_every_household_three_ordered_contacts_and_a_key_holder(
    db: psycopg.Connection[DictRow],
) -> None:
    seed(db, inbox_port=8765)
    fewest = scalar(
        db,
        "SELECT min(n) FROM (SELECT s.id, count(c.id) AS n FROM sites s"
        " LEFT JOIN contacts c ON c.site_id = s.id WHERE s.kind = 'household' GROUP BY s.id) x",
    )
    assert isinstance(fewest, int) and fewest >= 3
    assert (
        scalar(
            db,
            "SELECT count(*) FROM sites s WHERE s.kind = 'household' AND (s.key_holder_name IS NULL"
            " OR NOT EXISTS (SELECT 1 FROM contacts c WHERE c.site_id = s.id"
            " AND c.role = 'key_holder'))",
        )
        == 0
    )
    # Every site can escalate: a grid worker and a village cadre above it.
    for role in ("grid_worker", "village_cadre"):
        missing = scalar(
            db,
            "SELECT count(*) FROM sites s JOIN organisations so ON so.id = s.org_id"
            " WHERE NOT EXISTS (SELECT 1 FROM contacts c JOIN organisations o ON o.id = c.org_id"
            f" WHERE c.role = '{role}' AND so.path LIKE o.path || '%')",
        )
        assert missing == 0, role


def test_seed_uses_only_test_phone_numbers(db: psycopg.Connection[DictRow]) -> None:
    seed(db, inbox_port=8765)
    phones = [
        r["phone"]
        for r in db.execute(
            "SELECT phone FROM contacts UNION ALL SELECT phone FROM sites"
            " UNION ALL SELECT key_holder_phone FROM sites"
        )
    ]
    assert len(phones) > 1000
    assert [p for p in phones if not is_test_phone(p)] == []
    assert not is_test_phone("13812345678")


def test_seed_twice_changes_nothing_but_the_inbox_port(db: psycopg.Connection[DictRow]) -> None:
    seed(db, inbox_port=8765)
    first = table_counts(db)
    seed(db, inbox_port=9999)
    assert table_counts(db) == first
    urls = [u for r in db.execute("SELECT channels FROM contacts") for u in r["channels"]]
    # WeChat is a JSON post to the inbox; SMS and calls go to the emulators the inbox serves.
    assert urls and all(
        u.startswith("json://127.0.0.1:9999/inbox/")
        or (u.startswith(("aliyunsms://", "alivoice://"))
            and "endpoint=http://127.0.0.1:9999/emu/aliyun-" in u)
        for u in urls
    )  # fmt: skip
    assert any(u.startswith("alivoice://") for u in urls)
    assert any(u.startswith("aliyunsms://") for u in urls)
    assert not any("8765" in u for u in urls)


def test_plan_is_deterministic_and_names_the_story_places() -> None:
    first, second = plan_programme(), plan_programme()
    assert first == second
    fire = next(s for s in first.sites if s.key == "NZ-H0001")
    assert fire.room == "厨房" and "独居老人" in fire.situation and "女" in fire.situation
    restaurant = next(s for s in first.sites if s.key == "NZ-V0001")
    assert restaurant.category == "eatery" and restaurant.name == "老张家常菜馆"
