"""The wall screen (issue 20, item 7): the board fits 1920x1080 without scrolling, a closed
incident moves to "closed in the last 24 hours" instead of vanishing, the history is
searchable with filters, and the open-incident figure is the list's own count."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.alerting import raise_event
from tests.support.pages import (
    DESKTOP,
    assert_accessible,
    login,
    operator_for,
    screenshot,
    wait_for,
)
from tests.test_pages import board_row, open_incident_id, world

NO_SCROLL = "document.documentElement.scrollHeight <= window.innerHeight"


def test_fit_wall_screen_list_recently_closed_and_search_history(
    browser: Any, api: Any, api_settings: Any, database_url: str, db: Any
) -> None:
    with world(db, database_url, api_settings, browser) as (prog, base, _, open_tab):
        operator = operator_for(api, db, prog.sub_district)
        tab = open_tab(DESKTOP)
        page = tab.page
        login(tab, base, operator, next_path="/ui/board")
        closed_house, open_house = prog.houses[0], prog.houses[1]
        raise_event(db, closed_house.device_id, "alarm")
        raise_event(db, open_house.device_id, "alarm")
        closed_id = open_incident_id(db, closed_house.device_id)
        open_id = open_incident_id(db, open_house.device_id)
        board_row(tab, closed_id).wait_for()
        board_row(tab, open_id).wait_for()
        wait_for(lambda: page.inner_text("#kpis [data-kpi='open_incidents'] dd") == "2")
        # Item 9: each new fire's address is read out (speech synthesis), in Chinese.
        wait_for(lambda: page.get_attribute("body", "data-spoken") == "2")
        spoken = page.get_attribute("body", "data-last-spoken") or ""
        assert spoken.startswith("新火警："), spoken
        assert page.is_hidden("#sound-banner"), "audio allowed: no unlock prompt"
        # The map's alarm dots and legend follow the same list at once.
        wait_for(lambda: page.locator("#map circle.state-alarm").count() == 2)
        assert "报警 2" in page.inner_text("#map-legend")
        assert page.evaluate(NO_SCROLL), "the wall screen scrolls"

        for verb, body in (
            ("acknowledge", {}),
            ("resolve", {"outcome": "false_alarm", "false_alarm_cause": "steam"}),
        ):
            answer = httpx.post(f"{base}/api/v1/incidents/{closed_id}/{verb}", json=body,
                                headers=operator.headers, timeout=10)  # fmt: skip
            assert answer.status_code == 200, answer.text
        wait_for(lambda: board_row(tab, closed_id).count() == 0)
        recent = page.locator(f"#recent-rows li[data-incident-id='{closed_id}']")
        recent.wait_for()
        assert "水蒸气" in recent.inner_text()
        wait_for(lambda: page.inner_text("#kpis [data-kpi='open_incidents'] dd") == "1")
        wait_for(lambda: page.locator("#map circle.state-alarm").count() == 1)
        assert page.evaluate(NO_SCROLL)
        screenshot(tab, "board-desktop-recently-closed")

        # The monthly statistics download from the board (item 9), as the operator.
        href = page.get_attribute("#export-csv", "href") or ""
        assert href.startswith("/api/v1/summary/monthly?month=") and href.endswith("format=csv")
        with page.expect_download() as download:
            page.click("#export-xlsx")
        assert download.value.suggested_filename.endswith(".xlsx")

        page.click("#history-open")
        page.wait_for_selector("#history-form")
        address = closed_house_address(db, closed_house.site_id)
        page.fill("#history-form input[name='q']", address[-6:])
        page.select_option("#history-form select[name='outcome']", "false_alarm")
        page.click("#history-form button[type=submit]")
        wait_for(lambda: page.inner_text("#history-total") == "共 1 条")
        found = page.locator("#history-results li")
        assert found.count() == 1
        assert found.first.get_attribute("data-incident-id") == str(closed_id)
        assert_accessible(tab)
        found.first.locator("button").click()
        page.wait_for_selector(f"#drawer-body[data-incident-id='{closed_id}']")
        page.keyboard.press("Escape")

        # Item 9: the shift handover log, written on the board and read back.
        page.click("#handover-open")
        page.fill("#handover-note", "北李村李桂兰家火警未结，请继续跟进")
        page.click("#handover-form button[type=submit]")
        entry = page.locator("#handover-list li").first
        entry.wait_for()
        assert "北李村李桂兰家火警未结" in entry.inner_text()
        assert "当时未结警情 1 起" in entry.inner_text()
        assert_accessible(tab)
        page.keyboard.press("Escape")

        # Item 9: the day theme passes the same contrast checks; wall-screen mode keeps the
        # screen awake.
        page.click("#theme-toggle")
        assert page.evaluate("document.documentElement.dataset.theme") == "day"
        screenshot(tab, "board-desktop-day")
        assert_accessible(tab)
        page.click("#wall-mode")
        wait_for(lambda: page.get_attribute("body", "data-wake-lock") in ("0", "1"))
        assert "wall" in (page.get_attribute("body", "class") or "")
        tab.assert_no_script_errors()


def closed_house_address(db: Any, site_id: int) -> str:
    return str(
        db.execute("SELECT address FROM sites WHERE id = %s", (site_id,)).fetchone()["address"]
    )
