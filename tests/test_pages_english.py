"""English mode and small finish (issue 20, item 10): the live state and the installer's notices
follow a language switch, English pages carry no Chinese colons, the household file shows the
battery in per cent, and /favicon.ico answers on every page."""

from __future__ import annotations

import time
from typing import Any

import httpx

from core.factory import create_device
from tests.support.pages import (
    DESKTOP,
    PHONE,
    assert_accessible,
    login,
    operator_for,
    org_of,
    wait_for,
)
from tests.test_pages import world


def test_switch_board_and_installer_to_english_without_leftovers(
    browser: Any, api: Any, api_settings: Any, database_url: str, db: Any
) -> None:
    with world(db, database_url, api_settings, browser) as (prog, base, _, open_tab):
        icon = httpx.get(f"{base}/favicon.ico", timeout=10)
        assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"

        tab = open_tab(DESKTOP)
        page = tab.page
        login(tab, base, operator_for(api, db, prog.sub_district), next_path="/ui/board")
        wait_for(lambda: page.inner_text("#live-state") == "● 实时")
        page.click("#lang")
        wait_for(lambda: page.inner_text("#live-state") == "● Live")
        assert page.get_attribute("link[rel='icon']", "href") == "/ui/static/img/favicon.svg"
        page.fill("#site-q", "南张村")
        page.click("#site-search button[type=submit]")
        page.locator("#site-results button").first.click()
        page.wait_for_selector("#drawer-body table.devices tbody tr")
        battery = page.locator("#drawer-body table.devices tbody tr").first.locator("td").nth(3)
        assert battery.inner_text().endswith("%") or battery.inner_text() == "–"
        for text in page.locator(
            "#drawer-body h3, #drawer-body dt, #drawer-title"
        ).all_inner_texts():
            assert "：" not in text, text
        assert_accessible(tab)
        tab.assert_no_script_errors()

        # Item 9: a wall screen opened with a display key (a viewer's API key), no login.
        made = httpx.post(f"{base}/api/v1/api-keys", headers=api.admin_headers(), timeout=10,
                          json={"name": "大屏", "role": "viewer",
                                "org_id": prog.sub_district})  # fmt: skip
        assert made.status_code == 201, made.text
        wall = open_tab(DESKTOP)
        wall.page.goto(f"{base}/ui/login")
        wall.page.wait_for_selector("body[data-ready='1']")
        wall.page.click("#display summary")
        wall.page.fill("#display-key", made.json()["key"])
        wall.page.click("#display-form button[type=submit]")
        wall.page.wait_for_url(f"{base}/ui/board")
        wall.page.wait_for_selector("body[data-ready='1']")
        assert wall.page.get_attribute("body", "data-role") == "viewer"
        session = next(c for c in wall.page.context.cookies() if c["name"] == "sw_session")
        assert session["expires"] - time.time() > 30 * 86400
        wall.assert_no_script_errors()

        phone = open_tab(PHONE)
        installer = api.create_user("installer", org=org_of(db, prog.villages[0]))
        login(phone, base, installer, next_path="/ui/install")
        device_id = f"NZ-EN-{prog.sub_district}"
        create_device(db, device_id=device_id)
        phone.page.fill("#site-q", "南张村")
        phone.page.click("#site-search button[type=submit]")
        phone.page.locator("#site-results button[data-site-id]").first.click()
        phone.page.fill("#device-id", device_id)
        phone.page.fill("#room", "厨房")
        phone.page.click("#bind")
        phone.page.wait_for_selector("#bound:not([hidden])")
        assert "已绑定" in phone.page.inner_text("#bound")
        phone.page.click("#lang")
        wait_for(lambda: "已绑定" not in phone.page.inner_text("#bound"))
        assert device_id in phone.page.inner_text("#bound")
        phone.assert_no_script_errors()
