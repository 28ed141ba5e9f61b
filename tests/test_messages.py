"""The one message catalogue (core/messages): what alerts, digests and pages all read."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from alerting.render import event_label, outcome_label, person_label
from core.messages import LOCALES, catalogue, phrase, word

ROOT = Path(__file__).parent.parent
I18N = ROOT / "api/pages/static/js/i18n.js"
# Catalogue groups and the columns whose CHECK constraint lists their values.
DATABASE_VALUES = {
    "kind": ("incidents", "kind"),
    "status": ("incidents", "status"),
    "outcome": ("incidents", "outcome"),
    "cause": ("incidents", "false_alarm_cause"),
    "role": ("contacts", "role"),
    "result": ("notification_attempts", "outcome"),
    "workorder": ("work_orders", "kind"),
}


def test_catalogue_has_every_word_in_every_language() -> None:
    words = catalogue()
    assert tuple(words) == LOCALES  # Simplified Chinese first
    assert list(words["zh-CN"]) == list(words["en"])  # same keys, same order
    assert all(text.strip() for locale in LOCALES for text in words[locale].values())
    # Placeholders are the same in both languages.
    for key, text in words["zh-CN"].items():
        assert set(re.findall(r"\{(\w+)\}", text)) == set(
            re.findall(r"\{(\w+)\}", words["en"][key])
        ), key


@pytest.mark.parametrize("group", sorted(DATABASE_VALUES))
def test_catalogue_names_every_value_the_database_allows(group: str, db) -> None:
    table, column = DATABASE_VALUES[group]
    checks = db.execute(
        "SELECT pg_get_constraintdef(c.oid) AS def FROM pg_constraint c"
        " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)"
        " WHERE c.contype = 'c' AND c.conrelid = %s::regclass AND a.attname = %s"
        " AND cardinality(c.conkey) = 1",
        (table, column),
    ).fetchall()
    values = {v for row in checks for v in re.findall(r"'(\w+)'::text", row["def"])}
    assert values, checks
    assert sorted(v for v in values if f"{group}.{v}" not in catalogue()["zh-CN"]) == []


def test_page_dictionary_leaves_shared_words_to_the_catalogue() -> None:
    source = I18N.read_text()
    page_keys = set(re.findall(r'^\s+"([\w.]+)":', source, re.M))
    groups = {key.split(".")[0] for key in catalogue()["zh-CN"]}
    assert len(page_keys) > 100
    assert sorted(k for k in page_keys if k.split(".")[0] in groups) == []
    assert 'import SHARED from "/ui/catalogue.js";' in source


@pytest.mark.parametrize(
    ("locale", "said"),
    [
        ("zh-CN", ["王小明(网格员)", "烟感报警", "误报（做饭）", "真实火情", "3人", "监控中心"]),
        ("en", ["王小明(grid worker)", "smoke alarm", "false alarm (cooking)", "real fire",
                "3 people", "the monitoring centre"]),
    ],
)  # fmt: skip
def test_render_words_from_the_catalogue(locale: str, said: list[str]) -> None:
    assert [
        person_label("王小明", "grid_worker", locale),
        event_label("fire", locale),
        outcome_label("false_alarm", "cooking", locale),
        outcome_label("real_fire", None, locale),
        phrase("message.people", locale, n=3),
        phrase("message.centre", locale),
    ] == said


def test_word_keeps_labels_and_unknown_values_readable() -> None:
    assert word("outcome", "false_alarm", "en") == "False alarm"  # a label, as pages show it
    assert word("outcome", "false_alarm", "en", inline=True) == "false alarm"
    assert word("channelclass", "sms", "en", inline=True) == "SMS"  # an acronym stays
    assert word("outcome", "false_alarm", "zh-CN", inline=True) == "误报"
    assert word("role", "night_porter", "zh-CN") == "night porter"


def test_read_catalogue_module_serves_the_catalogue(api_client) -> None:
    response = api_client.get("/ui/catalogue.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    body = response.text
    start, end = body.index("export default ") + len("export default "), body.rindex(";")
    assert json.loads(body[start:end]) == catalogue()
