"""The installer's inputs (issue 20, item 8): an empty search lists sites and a fruitless one
says so, site buttons are labelled, a wrong coordinate or phone number gets a Chinese message
at its field instead of being dropped, and contacts are added to a new site on the spot."""

from __future__ import annotations

from typing import Any

from core.factory import create_site
from tests.support.api import ApiWorld, running_api
from tests.support.pages import PHONE, assert_accessible, login, screenshot, tabs


def test_validate_site_fields_and_add_contacts_on_installer_page(
    *, browser: Any, api: ApiWorld, api_settings: Any, db: Any
) -> None:
    tree = api.tree()
    installer = api.create_user("installer", org=tree.village, name="安装员 小李")
    create_site(
        db, org_id=tree.village.id, name="赵家", address="东村2组5号", resident_name="赵大爷"
    )
    with running_api(api_settings) as base, tabs(browser) as open_tab:
        tab = open_tab(PHONE)
        page = tab.page
        login(tab, base, installer, next_path="/ui/install")
        page.click("#site-search button[type=submit]")  # nothing typed: the first sites
        pick = page.locator("#site-results button[data-site-id]")
        pick.first.wait_for()
        assert pick.first.inner_text() == "选择"
        assert "赵大爷" in (pick.first.get_attribute("aria-label") or "")
        page.fill("#site-q", "没有这个人")
        page.click("#site-search button[type=submit]")
        page.wait_for_selector("#no-sites")

        page.click("#site-new summary")
        page.fill("#f-name", "钱家")
        page.fill("#f-address", "东村3组1号")
        page.fill("#f-phone", "12345")
        page.fill("#f-lat", "35.4180")
        page.fill("#f-lon", "abc")
        page.click("#site-form button[type=submit]")
        page.wait_for_selector("#f-lon-error")
        assert "请输入数字" in page.inner_text("#f-lon-error")
        assert "手机 11 位" in page.inner_text("#f-phone-error")
        assert page.get_attribute("#f-lon", "aria-invalid") == "true"
        assert db.execute("SELECT count(*) AS n FROM sites WHERE name = '钱家'").fetchone() == {
            "n": 0
        }
        screenshot(tab, "install-phone-field-errors")
        assert_accessible(tab)
        page.fill("#f-lon", "116.5930")
        page.fill("#f-phone", "0537-1234567")
        page.click("#site-form button[type=submit]")
        page.wait_for_selector("#step-contacts:not([hidden])")
        created = db.execute("SELECT longitude, phone FROM sites WHERE name = '钱家'").fetchone()
        assert created == {"longitude": 116.593, "phone": "0537-1234567"}

        page.fill("#c-name", "钱小红")
        page.select_option("#c-role", "family")
        page.fill("#c-phone", "1380013800")  # one digit short
        page.click("#c-submit")
        page.wait_for_selector("#c-phone-error")
        for name, role, phone in (("钱小红", "family", "13800138000"),
                                  ("孙邻居", "neighbour", "139 0013 9000"),
                                  ("李钥匙", "key_holder", "+86 137 0013 7000")):  # fmt: skip
            page.fill("#c-name", name)
            page.select_option("#c-role", role)
            page.fill("#c-phone", phone)
            page.click("#c-submit")
            page.wait_for_selector(f"#contact-list li:has-text('{name}')")
        assert page.get_attribute("#contact-list", "data-missing") == "0"
        stored = db.execute(
            "SELECT c.name, c.role, c.priority FROM contacts c JOIN sites s ON s.id = c.site_id "
            "WHERE s.name = '钱家' ORDER BY priority"
        ).fetchall()
        assert [(r["name"], r["role"], r["priority"]) for r in stored] == [
            ("钱小红", "family", 1), ("孙邻居", "neighbour", 2), ("李钥匙", "key_holder", 3)
        ]  # fmt: skip
        assert_accessible(tab)
        tab.assert_no_script_errors()
