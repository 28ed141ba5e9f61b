"""The installer registers a LoRaWAN detector on the spot from its label's QR code text, binds
it, and later corrects a zigbee2mqtt identity (issue 17, item 8); a real browser on the real
API. The scan itself needs a camera; the typed form takes the same text (TR005 QR contents are
parsed by the page only when scanned, so here the DevEUI is typed as the label prints it)."""

from __future__ import annotations

from typing import Any

from core.factory import create_device, create_site
from tests.support.api import ApiWorld, running_api
from tests.support.pages import PHONE, login, screenshot, tabs


def test_register_vendor_detector_on_site_and_fix_identity(
    *, browser: Any, api: ApiWorld, api_settings: Any, db: Any
) -> None:
    tree = api.tree()
    installer = api.create_user("installer", org=tree.village, name="安装员 小李")
    site = create_site(
        db, org_id=tree.village.id, name="赵家", address="北村2组5号", resident_name="赵大爷"
    )
    with running_api(api_settings) as base, tabs(browser) as open_tab:
        tab = open_tab(PHONE)
        login(tab, base, installer, next_path="/ui/install")
        page = tab.page
        page.fill("#site-q", "赵大爷")
        page.click("#site-search button[type=submit]")
        page.click(f"#site-results button[data-site-id='{site}']")
        page.click("#register-new summary")
        page.select_option("#r-model", "lorawan-generic-smoke")
        assert "DevEUI" in page.inner_text("#r-hint")
        page.fill("#r-external", "A8-40-41-00-01-81-C0-DE")
        screenshot(tab, "install-register-lorawan")
        page.click("#r-submit")
        page.wait_for_selector("#toast[data-kind='info']:not([hidden])")
        assert page.input_value("#device-id") == "LW-A84041000181C0DE"
        page.fill("#room", "客厅")
        page.click("#bind")
        page.wait_for_selector("#bound:not([hidden])")

        # A malformed identity is refused with the server's reason, Chinese first.
        page.click("#register-new summary")
        page.fill("#r-external", "A8404100")
        page.click("#r-submit")
        page.wait_for_selector("#toast[data-kind='error']:not([hidden])")
        assert "16 位十六进制" in page.inner_text("#toast")

        # Correct a zigbee2mqtt identity after a rename: the history keeps the old one.
        create_device(db, device_id="NZ-ZB900", model_code="aqara-jy-gz-01aq")
        db.execute("INSERT INTO device_identities VALUES ('zigbee2mqtt', '0x54ef441000a1b2c3', "
                   "'NZ-ZB900')")  # fmt: skip
        page.click("#fix-identity summary")
        page.fill("#x-device-id", "NZ-ZB900")
        page.select_option("#x-codec", "zigbee2mqtt")
        page.fill("#x-external", "kitchen/smoke")
        page.fill("#x-reason", "在 zigbee2mqtt 中改名")
        page.click("#fix-form button[type=submit]")
        page.wait_for_selector("#toast[data-kind='info']:not([hidden])")
        tab.assert_no_script_errors()

    registered = db.execute(
        "SELECT d.site_id, i.external_id FROM devices d JOIN device_identities i "
        "ON i.device_id = d.id WHERE d.id = 'LW-A84041000181C0DE'"
    ).fetchone()
    assert registered == {"site_id": site, "external_id": "a84041000181c0de"}
    changed = db.execute(
        "SELECT detail FROM registry_log WHERE action = 'identity_changed'"
    ).fetchone()
    assert changed["detail"]["old"] == "0x54ef441000a1b2c3"
    assert changed["detail"]["new"] == "kitchen/smoke"
