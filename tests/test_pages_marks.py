"""What the board's rows say at a glance (issue 20, item 4): a page delivered and a person who
answered carry different marks, a row left unacknowledged past two minutes says so, fire and
tamper rows look different, and "(link)" never shows in English inside the Chinese page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from core.incidents import make_ack_token
from tests.support.alerting import raise_event
from tests.support.api import TEST_ACK_SECRET
from tests.support.pages import (
    DESKTOP,
    SCREENSHOTS,
    assert_accessible,
    login,
    operator_for,
    wait_for,
)
from tests.test_pages import board_row, open_incident_id, world

# Read in one script turn: a live redraw may replace a row between a locator and its evaluation.
ANIMATION = (
    "(id) => getComputedStyle(document.querySelector(`tr.incident[data-incident-id='${id}']`))"
    ".animationName"
)


def test_show_page_marks_overdue_rows_and_tamper_apart_from_fire(
    browser: Any, api: Any, api_settings: Any, database_url: str, db: Any
) -> None:
    with world(db, database_url, api_settings, browser) as (prog, base, _, open_tab):
        fire_house, tamper_house = prog.houses[0], prog.houses[1]
        raise_event(db, fire_house.device_id, "alarm")
        raise_event(db, tamper_house.device_id, "tamper", priority=2)
        fire_id = open_incident_id(db, fire_house.device_id)
        tamper_id = open_incident_id(db, tamper_house.device_id)
        # The fire was raised five minutes ago (the clock is moved, nothing sleeps).
        db.execute(
            "UPDATE incidents SET opened_at = opened_at - interval '5 minutes' WHERE id = %s",
            (fire_id,),
        )
        token = make_ack_token(
            incident_id=fire_id, contact_id=fire_house.contacts["family"],
            secret=TEST_ACK_SECRET, ttl=timedelta(hours=1),
        )  # fmt: skip
        answered = httpx.post(f"{base}/api/v1/relative/{token}/acknowledge", timeout=10)
        assert answered.status_code == 200, answered.text
        tab = open_tab(DESKTOP)
        page = tab.page
        login(tab, base, operator_for(api, db, prog.sub_district), next_path="/ui/board")
        fire, tamper = board_row(tab, fire_id), board_row(tab, tamper_id)
        fire.wait_for()
        tamper.wait_for()
        wait_for(lambda: fire.locator("[data-page='answered']").count() == 1)
        family = fire.locator("[data-page='answered']").inner_text()
        # The family contact, who is on the way, with the reach mark of issue 18.
        assert family.split()[0].endswith("小明") and "已确认" in family, family
        marks = {el.get_attribute("data-page") for el in fire.locator(".paged-person").all()}
        assert "answered" in marks and marks - {"answered"}, marks
        wait_for(lambda: "overdue" in (fire.get_attribute("class") or ""))
        assert "超过 5 分钟未接警" in fire.locator(".overdue-flag").inner_text()
        assert "overdue" not in (tamper.get_attribute("class") or "")
        assert tamper.locator(".overdue-flag").is_hidden()
        assert page.evaluate(ANIMATION, fire_id) == "flash-row"
        assert page.evaluate(ANIMATION, tamper_id) == "flash-tamper"
        assert "(link)" not in page.inner_text("#incidents")
        fire.click()
        page.wait_for_selector(f"#drawer-body[data-incident-id='{fire_id}']")
        # The drawer's sections fill in as their data arrives: wait for the answer's line.
        wait_for(lambda: "告警链接" in page.inner_text("#drawer-body"))
        facts = page.inner_text("#drawer-body")
        assert "(link)" not in facts, facts
        # Item 5: notification records with headers, channel class and result in Chinese.
        records = page.locator("#attempts")
        wait_for(lambda: records.locator("tbody tr").count() > 0)
        assert records.locator("thead th").all_inner_texts() == [
            "时间", "联系人", "波次", "渠道", "结果", "触达", "详情"
        ]  # fmt: skip
        first = records.locator("tbody tr").first
        cells = first.locator("td").all_inner_texts()
        assert cells[3] == "接口推送" and cells[4].startswith("已送达"), cells
        assert "json" not in " ".join(cells[:5])
        box = first.locator("td.person").bounding_box()
        assert box and box["height"] < 60, "a name on one line, not a character per line"
        raw = first.locator("details .raw")
        assert raw.is_hidden()
        first.locator("details summary").click()
        assert raw.is_visible()
        # Attempts are merged per person, wave, channel, result and reach (not one row per
        # retry); a send that timed out on a loaded machine and then went through is two.
        rows = [
            tuple(row.locator("td").all_inner_texts()[1:6])
            for row in records.locator("tbody tr").all()
        ]
        assert len(rows) == len(set(rows)), f"one row per person, wave and result: {rows}"
        assert_accessible(tab)
        # Item 9: the printable incident report shows the drawer alone, with signature lines.
        assert page.is_hidden(".report-head")
        page.emulate_media(media="print")
        assert page.is_visible(".report-head") and page.is_visible(".report-sign")
        assert "警情处置单" in page.inner_text(".report-head")
        assert page.is_hidden("#incidents") and page.is_hidden("#resolve-later")
        assert page.is_visible("#timeline") and page.is_visible("#call-list")
        page.pdf(path=str(SCREENSHOTS / "board-incident-report.pdf"))
        page.emulate_media(media="screen")
        tab.assert_no_script_errors()
