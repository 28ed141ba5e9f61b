"""Provider answers in the incident timeline never show a phone number or key (issue 15, item 2)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from psycopg.rows import dict_row

from core.incidents import log_action
from tests.support.api import ApiWorld
from tests.support.ops import household, page, raise_alarm

PHONE = "13812345678"
KEY = "LTAI5tPROVIDERKEY"
# What alerting stored before this change, and what a provider can still echo in an attempt.
RAW_ERROR = (
    f'aliyunsms: failed HTTP 200: {{"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message":'
    f' "PhoneNumbers={PHONE}"}} | aliyunsms://{KEY}:secret@SMS_1/{PHONE}?sign=x'
)


@pytest.mark.parametrize("role", ["viewer", "operator", "administrator"])
def test_read_incident_masks_phone_numbers_in_provider_answers(
    api_client: TestClient, api: ApiWorld, role: str
) -> None:
    tree = api.tree()
    home = household(api.db.cursor(row_factory=dict_row), tree.grid.id, tree.grid.path, "东村", "m")
    incident = raise_alarm(api.db, home.device_id)
    page(api.db, incident, home.contacts["family"], outcome="failed", response=RAW_ERROR)
    log_action(
        api.db,
        incident_id=incident,
        action="delivery_failed",
        at=datetime.now(UTC),
        contact_id=home.contacts["family"],
        detail={"notification_id": 1, "error": RAW_ERROR},
    )

    answer = api_client.get(
        f"/api/v1/incidents/{incident}", headers=api.headers(role, org=tree.village)
    )

    assert answer.status_code == 200, answer.text
    text = answer.text
    assert PHONE not in text and KEY not in text and "secret" not in text
    failed = [t for t in answer.json()["timeline"] if t["action"] == "delivery_failed"]
    assert failed and "isv.MOBILE_NUMBER_ILLEGAL" in failed[0]["detail"]["error"]
    assert "*******5678" in failed[0]["detail"]["error"], "the last 4 digits tell contacts apart"
    assert any("*******5678" in a["answer"] for a in answer.json()["attempts"])
