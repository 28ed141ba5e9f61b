"""Phone numbers are checked by the server, not only by the installer's page (issue 20, item 8):
a site's and its key holder's phone, a contact's phone, the numbers an SMS or voice channel
calls and a roster's numbers are a Chinese mobile (+86 optional) or a landline, or the request
is refused field by field in Chinese first, then English."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.types import PHONE, normalise_phone
from tests.support.api import ApiWorld
from tests.test_api_sites import household

SMS = "aliyunsms://KeyId:KeySecret@SMS_1/{number}?sign=南张消防"
TENCENT = "tencentsms://SecretId:SecretKey@1400000000/77/{number}?sign=南张消防"
INSTALL_JS = Path(__file__).parent.parent / "api" / "pages" / "static" / "js" / "install.js"


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("13812345678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        (" 19912345678 ", "19912345678"),
        ("0537-1234567", "0537-1234567"),
        ("05371234567", "05371234567"),
        ("0537 1234567", "0537-1234567"),
        ("010-12345678", "010-12345678"),
        ("12345", None),
        ("12345678901", None),  # 12...: no mobile begins so
        ("1381234567", None),  # one digit short
        ("138123456789", None),  # one too many
        ("10000000001", None),  # the demo's reserved range: never a real number
        ("0537-123456", None),
        ("call me", None),
        ("１３８１２３４５６７８", None),  # full-width digits
    ],
)
def test_normalise_phone_mobile_or_landline(written: str, stored: str | None) -> None:
    assert normalise_phone(written) == stored


def _fields(response: Any) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {f["field"]: f["message"] for f in response.json()["error"]["fields"]}


def _bilingual(message: str) -> None:
    assert re.match(r"^[^A-Za-z]*[\u4e00-\u9fff]", message), f"Chinese first: {message}"
    assert "not a Chinese mobile" in message, f"English too: {message}"


def test_create_site_refuses_short_phone_and_key_holder_phone(
    api_client: TestClient, api: ApiWorld
) -> None:
    tree = api.tree()
    headers = api.headers("installer", org=tree.village)

    refused = api_client.post(
        "/api/v1/sites",
        json=household(tree.village, phone="12345", key_holder_phone="1380000000"),
        headers=headers,
    )
    fields = _fields(refused)
    assert set(fields) == {"body.phone", "body.key_holder_phone"}
    for message in fields.values():
        _bilingual(message)

    created = api_client.post(
        "/api/v1/sites",
        json=household(tree.village, phone="0537 1234567", key_holder_phone="+86 138 0000 0001"),
        headers=headers,
    )
    assert created.status_code == 201, created.text
    site = created.json()
    assert (site["phone"], site["key_holder_phone"]) == ("0537-1234567", "13800000001")
    patched = api_client.patch(
        f"/api/v1/sites/{site['id']}", json={"key_holder_phone": "12345"}, headers=headers
    )
    assert set(_fields(patched)) == {"body.key_holder_phone"}


def test_create_contact_refuses_bad_phone_and_bad_sms_numbers(
    api_client: TestClient, api: ApiWorld
) -> None:
    tree = api.tree()
    operator = api.headers("operator", org=tree.village)
    site = api_client.post("/api/v1/sites", json=household(tree.village), headers=operator).json()
    person = {"site_id": site["id"], "name": "张伟", "role": "family"}

    phone = api_client.post("/api/v1/contacts", json={**person, "phone": "12345"}, headers=operator)
    _bilingual(_fields(phone)["body.phone"])
    for template in (SMS, TENCENT):
        sms = api_client.post(
            "/api/v1/contacts",
            json={**person, "phone": "13800000002",
                  "channels": [template.format(number="13800000002"),
                               template.format(number="12345")]},
            headers=operator,
        )  # fmt: skip
        message = _fields(sms)["body.channels"]
        assert message.startswith("渠道 2 / channel 2: '12345': "), message
        _bilingual(message.split(": ", 2)[2])

    channels = [SMS.format(number="13800000002"), TENCENT.format(number="+8613800000002")]
    created = api_client.post(
        "/api/v1/contacts",
        json={**person, "phone": "+8613800000002", "channels": channels},
        headers=operator,
    )
    assert created.status_code == 201, created.text
    assert created.json()["phone"] == "13800000002"
    url = f"/api/v1/contacts/{created.json()['id']}"
    short = api_client.patch(url, json={"phone": "0537"}, headers=operator)
    _bilingual(_fields(short)["body.phone"])
    # The masked form sent back keeps the stored secret; a changed number is still checked.
    masked = api_client.get(url, headers=operator).json()["channels"]
    kept = api_client.patch(url, json={"channels": masked}, headers=operator)
    assert kept.status_code == 200, kept.text
    wrong = [masked[0].replace("13800000002", "1380000000"), masked[1]]
    message = _fields(api_client.patch(url, json={"channels": wrong}, headers=operator))
    assert message["body.channels"].startswith("渠道 1 / channel 1: '1380000000': ")


def test_import_roster_refuses_bad_numbers_in_both_languages(
    api_client: TestClient, api: ApiWorld
) -> None:
    headers = api.headers("operator", org=api.tree().sub_district)
    csv = (
        "村/社区,类型,类别,地址,住户姓名,电话,钥匙保管人,钥匙保管人电话,联系人1姓名,联系人1关系,联系人1电话\n"
        "东村,住户,独居老人,东村1组1号,王奶奶,(0537)1234567,李明,12345,张伟,儿子,138 0000 0002\n"
        "东村,住户,独居老人,东村1组2号,李奶奶,,,,赵强,邻居,1380000000\n"
    )

    report = api_client.post(
        "/api/v1/roster/import",
        files={"file": ("roster.csv", csv.encode("utf-8-sig"), "text/csv")},
        headers=headers,
    ).json()

    assert report["imported"] is False
    reasons = {(p["row"], p["field"]): p["reason"] for p in report["rejected"]}
    assert set(reasons) == {(2, "key_holder_phone"), (3, "contact1_phone")}
    for reason in reasons.values():
        _bilingual(reason.split(": ", 1)[1])


def test_install_page_checks_phones_by_the_server_rule() -> None:
    found = re.search(r"const PHONE = /\^(.*)\$/;", INSTALL_JS.read_text(encoding="utf-8"))
    assert found, "install.js has no PHONE rule"
    assert found[1].replace("\\+", "+").replace("(?:", "(") == PHONE.pattern.replace(
        "\\+", "+"
    ).replace("(?:", "(")
