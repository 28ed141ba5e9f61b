"""The pages in headless Chromium against a real uvicorn, PostgreSQL, Mosquitto, ingest and
alerting: the board shows a fire alarm published on MQTT with the siren, the operator
acknowledges and resolves it, a relative acknowledges from the alert link on a phone, an
installer binds and commissions a simulated detector. Every test writes screenshots of its pages
at desktop and phone size to build/screenshots/."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from api.pages.routes import _tile_origin
from core.factory import create_device
from core.incidents import make_ack_token
from device_sim.detector import Detector
from tests.support import Publisher, ingest_settings, running_ingest, unique_prefix
from tests.support.alerting import (
    alerting_settings,
    raise_event,
    receiver,
    running_alerting,
    scalar,
)
from tests.support.api import TEST_ACK_SECRET, running_api
from tests.support.pages import (
    DESKTOP,
    PHONE,
    Programme,
    Tab,
    assert_accessible,
    login,
    operator_for,
    org_of,
    screenshot,
    seed_programme,
    tabs,
    tile_server,
    wait_for,
)


@contextmanager
def world(
    db: Any, database_url: str, api_settings: Any, browser: Any, *, mqtt_url: str | None = None
) -> Iterator[tuple[Programme, str, str, Any]]:
    """Seeded programme, API (base URL), alerting paging into a loopback receiver and, with
    ``mqtt_url``, ingest; yields (programme, base URL, topic prefix, open_tab(size, lang=))."""
    prefix = unique_prefix()
    with ExitStack() as stack:
        rx = stack.enter_context(receiver())
        programme = seed_programme(db, lambda name: [rx.url(f"ok/{name}")])
        base = stack.enter_context(running_api(api_settings))
        if mqtt_url:
            stack.enter_context(running_ingest(ingest_settings(database_url, mqtt_url, prefix)))
        stack.enter_context(
            running_alerting(
                alerting_settings(
                    database_url, ack_secret=TEST_ACK_SECRET, ack_base_url=f"{base}/a/"
                )
            )
        )
        open_tab = stack.enter_context(tabs(browser))  # closed first, before the servers stop
        yield programme, base, prefix, open_tab


def open_incident_id(db: Any, device_id: str) -> int:
    return int(
        wait_for(
            lambda: scalar(
                db,
                "SELECT coalesce(max(id), 0) FROM incidents WHERE device_id = %s"
                " AND status <> 'resolved'",
                (device_id,),
            )
        )
    )


def board_row(tab: Tab, incident_id: int) -> Any:
    return tab.page.locator(f"tr.incident[data-incident-id='{incident_id}']")


def test_show_board_fire_alarm_from_mqtt_with_siren(
    *, browser, api, api_settings, database_url, db, mqtt_broker
) -> None:
    with world(db, database_url, api_settings, browser, mqtt_url=mqtt_broker.url) as (
        prog,
        base,
        prefix,
        open_tab,
    ):
        user = operator_for(api, db, prog.sub_district)
        tab = open_tab(DESKTOP)
        login(tab, base, user, next_path="/ui/board")
        tab.page.wait_for_selector("#live-state[data-state='open']")
        assert tab.page.locator("tr.incident").count() == 0
        assert tab.page.evaluate("document.body.dataset.alarmSounds") == "0"
        house = prog.houses[0]
        with Publisher(mqtt_broker.url) as pub:
            sent = time.monotonic()
            pub.publish(f"{prefix}/{house.device_id}/event", b'{"type": "alarm", "seq": 1}')
            row = tab.page.locator("tr.incident[data-kind='fire']")
            row.wait_for(state="visible", timeout=15_000)
            shown = time.monotonic() - sent
        print(f"\nboard: MQTT publish -> fire row visible after {shown * 1000:.0f} ms")
        assert "flash" in (row.get_attribute("class") or "")
        assert row.get_attribute("data-status") == "triggered"
        text = row.inner_text()
        for expected in ("南张村3组11号", "厨房", "王秀英", "独居", "行动不便"):
            assert expected in text, (expected, text)
        wait_for(lambda: int(tab.page.evaluate("document.body.dataset.alarmSounds")) >= 1)
        # Screen readers hear it too.
        assert "南张村3组11号" in (tab.page.text_content("#alarm-announcer") or "")
        assert tab.page.evaluate("document.body.classList.contains('alarming')")
        # The elapsed time ticks.
        first = row.locator("td.elapsed").inner_text()
        wait_for(lambda: row.locator("td.elapsed").inner_text() != first, timeout=5)
        # Alerting pages the first wave: the board shows who was told.
        wait_for(lambda: "王小明" in row.locator("td.paged").inner_text(), timeout=20)
        # The map turns the household red.
        site = prog.houses[0].site_id
        tab.page.locator(f"#map circle.state-alarm[data-site-id='{site}']").wait_for()
        screenshot(tab, "board-desktop")
        row.click()
        tab.page.wait_for_selector("#timeline li")
        screenshot(tab, "board-desktop-incident")
        tab.assert_no_script_errors()

        phone = open_tab(PHONE)
        login(phone, base, user, next_path="/ui/board")
        phone.page.locator("tr.incident[data-kind='fire']").wait_for()
        screenshot(phone, "board-phone")
        phone.assert_no_script_errors()


def test_acknowledge_incident_from_board_then_resolve(
    browser, api, api_settings, database_url, db
) -> None:
    with world(db, database_url, api_settings, browser) as (prog, base, _, open_tab):
        user = operator_for(api, db, prog.sub_district)
        tab = open_tab(DESKTOP, lang="en")
        login(tab, base, user, next_path="/ui/board")
        house = prog.houses[1]
        raise_event(db, house.device_id, "alarm")
        incident_id = open_incident_id(db, house.device_id)
        row = board_row(tab, incident_id)
        row.wait_for()
        assert row.get_attribute("data-status") == "triggered"
        row.locator("button[data-action='acknowledge']").click()
        wait_for(lambda: row.get_attribute("data-status") == "acknowledged")
        assert "flash" not in (row.get_attribute("class") or "")
        assert not tab.page.evaluate("document.body.classList.contains('alarming')")
        assert scalar(db, "SELECT status FROM incidents WHERE id = %s", (incident_id,)) == (
            "acknowledged"
        )
        assert scalar(db, "SELECT acknowledged_by FROM incidents WHERE id = %s", (incident_id,))

        row.click()
        tab.page.locator("#drawer-body[data-status='acknowledged']").wait_for()
        # The household file: resident, contacts, devices and rooms.
        tab.page.click("#drawer-body button[data-action='open-file']")
        household = tab.page.locator("#drawer-body .household-file")
        household.wait_for()
        file_text = tab.page.inner_text("#drawer-body")
        for expected in ("李桂兰", "李钥匙", "李小明", house.device_id, "卧室"):
            assert expected in file_text, (expected, file_text)
        screenshot(tab, "board-desktop-household-file")
        tab.page.keyboard.press("Escape")  # the drawer is modal: close it to reach the list
        row.click()
        drawer = tab.page.locator("#drawer-body[data-status='acknowledged']")
        drawer.wait_for()
        # Assign the neighbour, who has the key and is next door.
        neighbour = house.contacts["neighbour"]
        drawer.locator("select[name='contact_id']").select_option(str(neighbour))
        drawer.locator("button[data-action='assign']").click()
        wait_for(lambda: "赵邻居" in tab.page.inner_text("#drawer-body dl.facts"))
        assert scalar(db, "SELECT assigned_to FROM incidents WHERE id = %s", (incident_id,)) == (
            neighbour
        )
        drawer.locator("select[name='outcome']").select_option("false_alarm")
        drawer.locator("select[name='false_alarm_cause']").select_option("cooking")
        drawer.locator("textarea[name='note']").fill("Steam from a pot; checked by the grid worker")
        drawer.locator("button[data-action='resolve']").click()
        wait_for(lambda: row.count() == 0)
        outcome = db.execute(
            "SELECT status, outcome, false_alarm_cause FROM incidents WHERE id = %s",
            (incident_id,),
        ).fetchone()
        assert outcome == {
            "status": "resolved",
            "outcome": "false_alarm",
            "false_alarm_cause": "cooking",
        }
        tab.page.keyboard.press("Escape")
        # Device health per village leads to the list of those devices.
        village = tab.page.locator(f"#villages tr[data-org-id='{prog.villages[0]}']")
        village.locator("button[data-list='offline']").click()
        offline = tab.page.locator("#device-list tbody tr")
        offline.first.wait_for()
        assert offline.count() == 1
        assert offline.first.get_attribute("data-device-id") == prog.houses[4].device_id
        screenshot(tab, "board-desktop-en")
        tab.assert_no_script_errors()


def test_acknowledge_relative_link_on_phone(browser, api, api_settings, database_url, db) -> None:
    with world(db, database_url, api_settings, browser) as (prog, base, _, open_tab):
        house = prog.houses[2]
        raise_event(db, house.device_id, "alarm")
        incident_id = open_incident_id(db, house.device_id)
        token = make_ack_token(
            incident_id=incident_id,
            contact_id=house.contacts["family"],
            secret=TEST_ACK_SECRET,
            ttl=timedelta(hours=1),
        )
        tab = open_tab(PHONE)
        tab.page.goto(f"{base}/a/{token}")
        tab.page.wait_for_selector("body[data-ready='1']")
        button = tab.page.locator("#acknowledge")
        button.wait_for()
        content = tab.page.inner_text("#content")
        for expected in ("张德福家", "南张村5组13号", "客厅"):
            assert expected in content, (expected, content)
        box = button.bounding_box()
        assert box and box["height"] >= 80 and box["width"] >= 300, "a big button on a phone"
        screenshot(tab, "relative-phone")
        assert_accessible(tab)
        button.click()
        tab.page.wait_for_selector("#acknowledged")
        assert scalar(db, "SELECT status FROM incidents WHERE id = %s", (incident_id,)) == (
            "acknowledged"
        )
        screenshot(tab, "relative-phone-acknowledged")
        tab.page.click("button[data-outcome='false_alarm']")
        tab.page.click("button[data-cause='steam']")
        # Two taps send nothing: the report waits for its confirmation.
        tab.page.wait_for_selector("#confirm")
        assert "水蒸气" in tab.page.inner_text("#confirm")
        assert scalar(db, "SELECT status FROM incidents WHERE id = %s", (incident_id,)) == (
            "acknowledged"
        )
        screenshot(tab, "relative-phone-confirm")
        assert_accessible(tab)
        tab.page.fill("#confirm textarea[name='note']", "烧水壶的蒸汽")
        tab.page.click("#confirm button[data-action='confirm']")
        tab.page.wait_for_selector("#reported")
        row = db.execute(
            "SELECT status, outcome, report_outcome, report_cause, report_note FROM incidents"
            " WHERE id = %s",
            (incident_id,),
        ).fetchone()
        # A report, not a close: the monitoring centre reviews and closes it.
        assert row == {
            "status": "reported",
            "outcome": None,
            "report_outcome": "false_alarm",
            "report_cause": "steam",
            "report_note": "烧水壶的蒸汽",
        }
        screenshot(tab, "relative-phone-reported")
        assert_accessible(tab)
        devices = tab.page.locator("#devices li")
        assert devices.count() == 1
        tab.assert_no_script_errors()

        forged = open_tab(PHONE)
        forged.page.goto(f"{base}/ui/relative/{token[:-2]}xx")
        forged.page.wait_for_selector("#invalid")
        desktop = open_tab(DESKTOP)
        desktop.page.goto(f"{base}/ui/relative/{token}")
        desktop.page.wait_for_selector("#reported")
        screenshot(desktop, "relative-desktop")


def test_board_keeps_ringing_after_field_answer_until_operator_acknowledges(
    browser, api, api_settings, database_url, db
) -> None:
    with world(db, database_url, api_settings, browser) as (prog, base, _, open_tab):
        user = operator_for(api, db, prog.sub_district)
        tab = open_tab(DESKTOP)
        login(tab, base, user, next_path="/ui/board")
        house = prog.houses[3]
        raise_event(db, house.device_id, "alarm")
        incident_id = open_incident_id(db, house.device_id)
        row = board_row(tab, incident_id)
        row.wait_for()
        token = make_ack_token(
            incident_id=incident_id,
            contact_id=house.contacts["family"],
            secret=TEST_ACK_SECRET,
            ttl=timedelta(hours=1),
        )
        relative = f"{base}/api/v1/relative/{token}"
        assert httpx.post(f"{relative}/acknowledge", timeout=10).status_code == 200
        # Someone in the field is on the way: the board shows who, and keeps ringing.
        wait_for(lambda: "正在赶往" in row.locator("td.paged").inner_text())
        assert row.get_attribute("data-centre") == "waiting"
        assert "flash" in (row.get_attribute("class") or "")
        assert tab.page.evaluate("document.body.classList.contains('alarming')")
        refused = httpx.post(f"{relative}/resolve", json={"outcome": "real_fire"}, timeout=10)
        assert refused.status_code == 403
        reported = httpx.post(
            f"{relative}/report",
            json={"outcome": "false_alarm", "false_alarm_cause": "cooking"},
            timeout=10,
        )
        assert reported.status_code == 200, reported.text
        wait_for(lambda: row.get_attribute("data-status") == "reported")
        text = row.locator("td.paged").inner_text()
        assert "误报/做饭" in text and "待中心复核" in text, text
        assert tab.page.evaluate("document.body.classList.contains('alarming')")
        screenshot(tab, "board-desktop-field-report")
        # The operator acknowledges on the board: only now the siren and the flashing stop.
        row.locator("button[data-action='acknowledge']").click()
        wait_for(lambda: row.get_attribute("data-centre") == "acknowledged")
        assert "flash" not in (row.get_attribute("class") or "")
        assert not tab.page.evaluate("document.body.classList.contains('alarming')")
        assert row.get_attribute("data-status") == "reported"  # still on the board for review
        row.click()
        drawer = tab.page.locator("#drawer-body[data-status='reported']")
        drawer.wait_for()
        # Nothing is preselected; one press copies the field report into the form.
        assert drawer.locator("select[name='outcome']").input_value() == ""
        drawer.locator("button[data-action='use-report']").click()
        assert drawer.locator("select[name='outcome']").input_value() == "false_alarm"
        assert drawer.locator("select[name='false_alarm_cause']").input_value() == "cooking"
        drawer.locator("button[data-action='resolve']").click()
        wait_for(lambda: row.count() == 0)
        assert scalar(db, "SELECT status FROM incidents WHERE id = %s", (incident_id,)) == (
            "resolved"
        )
        tab.assert_no_script_errors()


def test_commission_simulated_detector_from_installer_page(
    *, browser, api, api_settings, database_url, db, mqtt_broker
) -> None:
    with world(db, database_url, api_settings, browser, mqtt_url=mqtt_broker.url) as (
        prog,
        base,
        prefix,
        open_tab,
    ):
        village = prog.villages[0]
        installer = api.create_user("installer", org=org_of(db, village), name="安装员 小周")
        device_id = f"NZ-NEW-{prog.sub_district}"
        create_device(db, device_id=device_id)
        tab = open_tab(PHONE)
        login(tab, base, installer, next_path="/ui/install")
        screenshot(tab, "install-phone")
        assert_accessible(tab)
        # Find: the household from the roster is there...
        tab.page.fill("#site-q", "王秀英")
        tab.page.click("#site-search button[type=submit]")
        tab.page.locator(
            f"#site-results button[data-site-id='{prog.houses[0].site_id}']"
        ).wait_for()
        # ...but this detector goes to a new small shop, created on the spot.
        tab.page.click("#site-new summary")
        tab.page.select_option("#f-org", str(village))
        tab.page.select_option("#f-kind", "venue")
        tab.page.select_option("#f-category", "eatery")
        tab.page.fill("#f-name", "老孙家面馆")
        tab.page.fill("#f-address", "南张村商业街8号")
        tab.page.fill("#f-phone", "0537-7654321")
        tab.page.fill("#f-lat", "35.4180")
        tab.page.fill("#f-lon", "116.5930")
        tab.page.click("#site-form button[type=submit]")
        tab.page.wait_for_selector("#site-chosen:not([hidden])")
        site_id = int(tab.page.get_attribute("#install", "data-site-id") or 0)
        created = db.execute(
            "SELECT org_id, kind, category, latitude FROM sites WHERE id = %s", (site_id,)
        ).fetchone()
        assert created == {
            "org_id": village, "kind": "venue", "category": "eatery", "latitude": 35.418
        }  # fmt: skip
        # Scanning needs BarcodeDetector and a camera; without them the page says to type.
        tab.page.click("#scan")
        tab.page.wait_for_selector("#scan-note:not([hidden])")
        tab.page.fill("#device-id", device_id)
        tab.page.fill("#room", "卧室")
        tab.page.fill("#position", "天花板中央")
        tab.page.click("#bind")
        tab.page.wait_for_selector("#bound:not([hidden])")
        assert scalar(db, "SELECT site_id FROM devices WHERE id = %s", (device_id,)) == site_id
        tab.page.click("#start-test")
        tab.page.wait_for_selector("#commission-state[data-state='waiting']")
        screenshot(tab, "install-phone-waiting")
        assert_accessible(tab)
        detector = Detector(device_id=device_id, prefix=prefix)
        with Publisher(mqtt_broker.url) as pub:
            # The installer presses the test button: a test event with the detector's readings.
            message = detector.event("test", datetime.now(UTC), **detector.readings())
            pub.publish(message.topic, message.payload)
        tab.page.wait_for_selector("#commission-state[data-state='passed']", timeout=20_000)
        result = tab.page.inner_text("#commission-state")
        assert f"{detector.signal_dbm} dBm" in result, result
        screenshot(tab, "install-phone-passed")
        assert_accessible(tab)
        tab.assert_no_script_errors()

        desktop = open_tab(DESKTOP)
        login(desktop, base, installer, next_path="/ui/install")
        screenshot(desktop, "install-desktop")


def test_show_login_page_in_both_languages(browser, api, api_settings, db) -> None:
    with running_api(api_settings) as base, tabs(browser) as open_tab:
        for size, name in ((PHONE, "phone"), (DESKTOP, "desktop")):
            tab = open_tab(size)
            tab.page.goto(f"{base}/ui/login")
            tab.page.wait_for_selector("body[data-ready='1']")
            assert tab.page.inner_text("h1") == "登录烟感守护"
            screenshot(tab, f"login-{name}")
            assert_accessible(tab)
        tab.page.click("#lang")
        assert tab.page.inner_text("h1") == "Log in to Smokewatch"
        tab.page.reload()
        tab.page.wait_for_selector("body[data-ready='1']")
        assert tab.page.inner_text("h1") == "Log in to Smokewatch", "the choice is kept"
        assert tab.page.evaluate("document.documentElement.lang") == "en"
        tab.page.fill("#username", "nobody")
        tab.page.fill("#password", "wrong password")
        tab.page.click("#login button[type=submit]")
        tab.page.wait_for_selector("#login-error:not([hidden])")
        assert_accessible(tab)
        # A page that needs a login sends the browser to the login page and back.
        tab.page.goto(f"{base}/ui/board")
        tab.page.wait_for_url(f"{base}/ui/login?next=%2Fui%2Fboard")
        tab.assert_no_script_errors()


def test_show_board_map_over_configured_tiles_to_viewer(
    browser, api, api_settings, database_url, db
) -> None:
    with tile_server() as (template, requested):
        settings = api_settings.model_copy(
            update={"api_map_tile_url": template, "api_map_attribution": "© test tiles"}
        )
        with world(db, database_url, settings, browser) as (prog, base, _, open_tab):
            viewer = api.create_user(
                "viewer", org=org_of(db, prog.sub_district), name="区应急局 观察员"
            )
            tab = open_tab(DESKTOP)
            login(tab, base, viewer, next_path="/ui/board")
            tiles = tab.page.locator("#map g.tiles image")
            tiles.first.wait_for(state="attached")
            assert tab.page.locator("#map circle.site").count() == len(prog.houses)
            wait_for(lambda: len(requested) >= tiles.count())  # the page's CSP let them load
            assert all(path.endswith(".png") for path in requested)
            assert "© test tiles" in tab.page.inner_text("#map")
            # Government read access: the alarm is shown, the buttons to act on it are not.
            raise_event(db, prog.houses[5].device_id, "alarm")
            row = board_row(tab, open_incident_id(db, prog.houses[5].device_id))
            row.wait_for()
            assert row.locator("[data-action='acknowledge']").is_hidden()
            row.click()
            tab.page.locator("#drawer-body[data-status='triggered']").wait_for()
            assert tab.page.locator("#drawer-body .resolve-form").is_hidden()
            tab.assert_no_script_errors()


def test_check_page_dictionaries_have_same_keys() -> None:
    source = (Path(__file__).parent.parent / "api/pages/static/js/i18n.js").read_text()
    zh, en = source.split("\n  en: {\n")
    keys = [set(re.findall(r'^\s+"([\w.]+)":', part, re.M)) for part in (zh, en.split("\n};")[0])]
    assert len(keys[0]) > 100
    assert keys[0] == keys[1], keys[0] ^ keys[1]


def test_allow_tile_server_in_page_policy() -> None:
    assert _tile_origin(None) == ""
    assert _tile_origin(
        "https://t{s}.tianditu.gov.cn/DataServer?T=vec_w&x={x}&y={y}&l={z}&tk=k"
    ) == ("https://*.tianditu.gov.cn")
    assert _tile_origin("http://127.0.0.1:8080/{z}/{x}/{y}.png") == "http://127.0.0.1:8080"


def test_read_static_file_refuses_paths_outside(api_client) -> None:
    assert api_client.get("/ui/static/js/board.js").status_code == 200
    for path in ("/ui/static/../routes.py", "/ui/static/%2e%2e/routes.py", "/ui/static/js/nope.js"):
        assert api_client.get(path).status_code == 404, path
    page = api_client.get("/ui/relative/abc.def")
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    link = api_client.get("/a/abc.def", follow_redirects=False)
    assert link.headers["location"] == "/ui/relative/abc.def"
