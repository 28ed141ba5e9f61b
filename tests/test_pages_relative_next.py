"""The relative's page tells what a person on the way needs (issue 20, item 6): whom to call
(the monitoring centre's configured number, the household and the key holder) with tel: links,
who else was told and who answered, what happens next; once the centre closes the incident the
clock stops and the detector no longer shows in alarm."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from core.incidents import make_ack_token
from tests.support.alerting import raise_event
from tests.support.api import TEST_ACK_SECRET
from tests.support.pages import PHONE, assert_accessible, operator_for, screenshot, wait_for
from tests.test_pages import open_incident_id, world

CENTRE = "0537-2345678"


def test_show_relative_calls_told_people_and_next_step_then_stop_after_close(
    browser: Any, api: Any, api_settings: Any, database_url: str, db: Any
) -> None:
    settings = api_settings.model_copy(update={"api_centre_phone": CENTRE})
    with world(db, database_url, settings, browser) as (prog, base, _, open_tab):
        house = prog.houses[2]
        raise_event(db, house.device_id, "alarm")
        db.execute("UPDATE device_state SET alarm_active = true WHERE device_id = %s",
                   (house.device_id,))  # fmt: skip
        incident_id = open_incident_id(db, house.device_id)
        wait_for(lambda: db.execute(
            "SELECT count(*) AS n FROM notifications WHERE incident_id = %s AND status = "
            "'delivered'", (incident_id,)).fetchone()["n"] > 0)  # fmt: skip
        token = make_ack_token(
            incident_id=incident_id, contact_id=house.contacts["family"],
            secret=TEST_ACK_SECRET, ttl=timedelta(hours=1),
        )  # fmt: skip
        tab = open_tab(PHONE)
        page = tab.page
        page.goto(f"{base}/a/{token}")
        page.wait_for_selector("#acknowledge")
        centre = page.locator("#calls li[data-call='centre'] a")
        assert centre.get_attribute("href") == "tel:0537-2345678".replace("-", "")
        assert page.get_attribute("#calls li[data-call='key_holder'] a", "href") == (
            "tel:13900000009"
        )
        assert page.locator("#calls li[data-call='site'] a").count() == 1
        assert "继续呼叫下一位联系人" in page.inner_text("#next")
        told = page.locator("#told li")
        wait_for(lambda: told.count() >= 1)
        assert page.locator("#told li[data-told='delivered']").count() >= 1
        assert page.locator("#told a[href^='tel:']").count() >= 1
        screenshot(tab, "relative-phone-calls")
        assert_accessible(tab)

        page.click("#acknowledge")
        page.wait_for_selector("#acknowledged")
        wait_for(lambda: page.locator("#told li[data-told='answered']").count() == 1)
        assert "小明" in page.inner_text("#told li[data-told='answered']")
        assert "到场后请查看情况" in page.inner_text("#next")

        # The centre acknowledges and closes it (a false alarm); the detector stays latched.
        operator = operator_for(api, db, prog.sub_district).headers
        for verb, body in (
            ("acknowledge", {}),
            ("resolve", {"outcome": "false_alarm", "false_alarm_cause": "cooking"}),
        ):
            answer = httpx.post(f"{base}/api/v1/incidents/{incident_id}/{verb}", json=body,
                                headers=operator, timeout=10)  # fmt: skip
            assert answer.status_code == 200, answer.text
        page.reload()
        page.wait_for_selector("#resolved")
        assert page.get_attribute("#elapsed", "data-since") is None, "the clock stopped"
        assert "持续" in page.inner_text("#elapsed")
        state = page.get_attribute(
            f"#devices li[data-device-id='{house.device_id}'] .badge", "class"
        )
        assert "state-alarm" not in (state or ""), state
        assert "已由监控中心结束" in page.inner_text("#next")
        assert_accessible(tab)
        tab.assert_no_script_errors()
