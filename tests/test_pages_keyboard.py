"""The board by keyboard (issue 20, item 2): the incident drawer takes focus, keeps Tab inside
and gives focus back on Esc; the map is one tab stop walked with the arrow keys; axe-core finds
no serious violation on the board, the drawer or the household file."""

from __future__ import annotations

from typing import Any

from tests.support.alerting import raise_event
from tests.support.pages import DESKTOP, assert_accessible, login, operator_for, wait_for
from tests.test_pages import board_row, open_incident_id, world

IN_DRAWER = "document.getElementById('drawer').contains(document.activeElement)"
FOCUSED_SITE = "document.activeElement.dataset.siteId || null"


def test_keep_focus_in_board_drawer_and_walk_map_with_arrows(
    browser: Any, api: Any, api_settings: Any, database_url: str, db: Any
) -> None:
    with world(db, database_url, api_settings, browser) as (prog, base, _, open_tab):
        user = operator_for(api, db, prog.sub_district)
        tab = open_tab(DESKTOP)
        page = tab.page
        login(tab, base, user, next_path="/ui/board")
        first, second = prog.houses[0], prog.houses[1]
        raise_event(db, first.device_id, "alarm")
        raise_event(db, second.device_id, "alarm")
        first_id = open_incident_id(db, first.device_id)
        second_id = open_incident_id(db, second.device_id)
        board_row(tab, first_id).wait_for()
        board_row(tab, second_id).wait_for()
        page.wait_for_selector("#map circle.site")
        assert_accessible(tab)

        board_row(tab, first_id).focus()
        page.keyboard.press("Enter")
        page.wait_for_selector(f"#drawer-body[data-incident-id='{first_id}']")
        assert page.evaluate(IN_DRAWER), "the drawer takes focus"
        # Item 3: whom to call, with tel: links; no outcome to pick while it still rings.
        calls = page.locator("#call-list li")
        # Household, key holder, contacts; the list fills in when the household's file arrives.
        wait_for(lambda: calls.count() == 2 + len(first.contacts))
        assert page.get_attribute("#call-list li[data-call='key_holder'] a", "href") == (
            "tel:13900000009"
        )
        assert page.locator("#call-list a[href^='tel:']").count() == 2 + len(first.contacts)
        assert page.locator("#resolve-form").count() == 0
        assert page.is_visible("#resolve-later")
        for _ in range(40):  # more presses than the drawer has controls
            page.keyboard.press("Tab")
            assert page.evaluate(IN_DRAWER), page.evaluate("document.activeElement.outerHTML")
        for _ in range(5):
            page.keyboard.press("Shift+Tab")
            assert page.evaluate(IN_DRAWER)
        assert_accessible(tab)
        page.keyboard.press("Escape")
        assert page.is_hidden("#drawer")
        assert page.evaluate("document.activeElement.dataset.incidentId") == str(first_id)
        # After the centre's acknowledgement the outcome can be entered, with nothing chosen.
        board_row(tab, second_id).locator("button[data-action='acknowledge']").click()
        board_row(tab, second_id).click()
        page.wait_for_selector(f"#drawer-body[data-incident-id='{second_id}'] #resolve-form")
        assert page.input_value("#resolve-form select[name='outcome']") == ""
        page.click("#resolve-form button[data-action='resolve']")  # refused by the browser
        assert page.evaluate("document.querySelector('#resolve-form').checkValidity()") is False
        page.keyboard.press("Escape")

        # The map: exactly one tab stop, arrows move between sites, Enter opens the file.
        stops = page.evaluate(
            "[...document.querySelectorAll('#map [tabindex]')]"
            ".filter((el) => el.getAttribute('tabindex') !== '-1').length"
        )
        assert stops == 1
        page.focus("#map circle.site[tabindex='0']")
        start = page.evaluate(FOCUSED_SITE)
        page.keyboard.press("ArrowRight")
        moved = page.evaluate(FOCUSED_SITE)
        assert moved and moved != start
        page.keyboard.press("ArrowLeft")
        assert page.evaluate(FOCUSED_SITE) == start
        page.keyboard.press("Enter")
        page.wait_for_selector(f"#drawer-body[data-site-id='{start}']")
        assert page.evaluate(IN_DRAWER)
        assert_accessible(tab)
        page.keyboard.press("Escape")
        assert page.evaluate(FOCUSED_SITE) == start

        # From the top of the page the site search is a few dozen presses away, not 427.
        page.evaluate("document.activeElement.blur()")
        presses = 0
        while page.evaluate("document.activeElement.id") != "site-q":
            page.keyboard.press("Tab")
            presses += 1
            assert presses <= 60, "the site search is out of reach by keyboard"
        tab.assert_no_script_errors()
