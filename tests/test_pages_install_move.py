"""Moving a bound detector from the installer's phone (issue 20, item 1): binding a detector that
hangs in another household says where it is bound now and moves it only after an explicit
confirmation; the old household's file on the board shows that it lost its detector."""

from __future__ import annotations

from typing import Any

from core.factory import create_device, create_site
from tests.support.api import ApiWorld, running_api
from tests.support.pages import DESKTOP, PHONE, assert_accessible, login, screenshot, tabs


def _site(db: Any, org_id: int, name: str, address: str, resident: str) -> int:
    return create_site(db, org_id=org_id, name=name, address=address, resident_name=resident)


def test_move_bound_detector_needs_confirmation_and_old_household_shows_loss(
    *, browser: Any, api: ApiWorld, api_settings: Any, db: Any
) -> None:
    tree = api.tree()
    installer = api.create_user("installer", org=tree.village, name="安装员 小李")
    operator = api.create_user("operator", org=tree.village, name="值班员 小王")
    old_site = _site(db, tree.village.id, "刘家", "东村1组3号", "刘奶奶")
    new_site = _site(db, tree.village.id, "张家", "东村2组7号", "张爷爷")
    create_device(db, device_id="NZ-H0005", site_id=old_site, room="客厅", status="in_service")
    with running_api(api_settings) as base, tabs(browser) as open_tab:
        tab = open_tab(PHONE)
        login(tab, base, installer, next_path="/ui/install")
        page = tab.page
        page.fill("#site-q", "张爷爷")
        page.click("#site-search button[type=submit]")
        page.click(f"#site-results button[data-site-id='{new_site}']")
        # Typed in lower case as people do; the label's id is found all the same.
        page.fill("#device-id", "nz-h0005")
        page.fill("#room", "厨房")
        page.click("#bind")
        page.wait_for_selector("#move-confirm:not([hidden])")
        text = page.inner_text("#move-confirm")
        assert "刘家" in text and "东村1组3号" in text and "客厅" in text, text
        assert page.is_hidden("#bound")
        screenshot(tab, "install-phone-move-confirm")
        assert_accessible(tab)
        page.click("#move-no")
        assert page.is_hidden("#move-confirm")
        assert db.execute("SELECT site_id FROM devices WHERE id = 'NZ-H0005'").fetchone() == {
            "site_id": old_site
        }
        page.click("#bind")
        page.click("#move-yes")
        page.wait_for_selector("#bound:not([hidden])")
        assert "刘家" in page.inner_text("#bound")
        tab.assert_no_script_errors()
        moved = db.execute("SELECT site_id, room FROM devices WHERE id = 'NZ-H0005'").fetchone()
        assert moved == {"site_id": new_site, "room": "厨房"}

        board = open_tab(DESKTOP)
        login(board, base, operator, next_path="/ui/board")
        board.page.fill("#site-q", "刘奶奶")
        board.page.click("#site-search button[type=submit]")
        board.page.click("#site-results button")
        board.page.wait_for_selector("#file-no-detector")
        record = board.page.inner_text("#file-records li[data-action='device_unbound']")
        assert "NZ-H0005" in record and "张家" in record, record
        screenshot(board, "board-desktop-file-lost-detector")
        assert_accessible(board)
        board.assert_no_script_errors()
