"""One source for every count on the board (issue 20, item 7): when a detector goes offline or
runs low on battery, the key figures, the map's legend and the village table change together,
in the same drawing, and never disagree on the way (before, the key figures came from a
per-village summary up to a minute old while the legend counted live)."""

from __future__ import annotations

from typing import Any

from tests.support.alerting import raise_event
from tests.support.pages import DESKTOP, login, operator_for, wait_for
from tests.test_pages import world

# Every drawing of the figures is recorded as it lands (a MutationObserver runs after the
# script that drew them), so a moment where they disagree cannot slip between two reads.
RECORD = """() => {
  const kpi = (key) => document.querySelector(`#kpis [data-kpi='${key}'] dd`)?.textContent;
  const legend = (state) => document.querySelector(`#map-legend li[data-state='${state}']`)
    ?.dataset.count;
  const villages = (state) => {
    const cells = [...document.querySelectorAll(`#villages td[data-count='${state}']`)];
    const sum = cells.reduce((n, c) => n + (Number(c.textContent) || 0), 0);
    return cells.length ? String(sum) : undefined;
  };
  const read = () => ({
    kpi_offline: kpi("offline"), legend_offline: legend("offline"),
    village_offline: villages("offline"), kpi_low: kpi("low_battery"),
    village_low: villages("low_battery"),
  });
  window.__counts = [read()];
  new MutationObserver(() => window.__counts.push(read())).observe(document.querySelector("main"),
    { childList: true, subtree: true, characterData: true, attributes: true });
}"""


def figures(page: Any) -> dict[str, str]:
    return dict(page.evaluate("window.__counts[window.__counts.length - 1]"))


def test_show_board_counts_change_together_when_a_detector_goes_offline_or_low(
    browser: Any, api: Any, api_settings: Any, database_url: str, db: Any
) -> None:
    with world(db, database_url, api_settings, browser) as (prog, base, _, open_tab):
        operator = operator_for(api, db, prog.sub_district)
        tab = open_tab(DESKTOP)
        page = tab.page
        login(tab, base, operator, next_path="/ui/board")
        page.wait_for_selector("#live-state[data-state='open']")
        page.evaluate(RECORD)
        # Two of the six detectors are silent past their deadline, two are low on battery.
        start = {"kpi_offline": "2", "legend_offline": "2", "village_offline": "2",
                 "kpi_low": "2", "village_low": "2"}  # fmt: skip
        wait_for(lambda: figures(page) == start)
        drawn_before = len(page.evaluate("window.__counts"))

        quiet, draining = prog.houses[0], prog.houses[3]
        # The first detector's deadline passes: the alerting watchdog marks it offline and
        # reports an ``offline`` event, which the board hears on its live stream.
        db.execute(
            "UPDATE device_state SET offline_deadline = now() - interval '1 second'"
            " WHERE device_id = %s",
            (quiet.device_id,),
        )
        # The other reports a low battery, as ingest stores it: state, then the event.
        db.execute(
            "UPDATE device_state SET battery_low = true, battery_pct = 9 WHERE device_id = %s",
            (draining.device_id,),
        )
        raise_event(db, draining.device_id, "low_battery", priority=3)

        end = {"kpi_offline": "3", "legend_offline": "3", "village_offline": "3",
               "kpi_low": "3", "village_low": "3"}  # fmt: skip
        wait_for(lambda: figures(page) == end, timeout=25)
        assert "离线 3" in page.inner_text("#map-legend")

        seen = page.evaluate("window.__counts")[drawn_before:]
        for snapshot in seen:
            if None in snapshot.values():
                continue  # a panel being redrawn from scratch (the first drawing)
            offline = {snapshot[k] for k in ("kpi_offline", "legend_offline", "village_offline")}
            low = {snapshot["kpi_low"], snapshot["village_low"]}
            assert len(offline) == 1 and len(low) == 1, f"figures disagree: {snapshot}"
        tab.assert_no_script_errors()
