"""External identities in one spelling (issue 17): what installers type, what traffic says."""

from __future__ import annotations

import pytest

from core.codecs.identity import normalise


@pytest.mark.parametrize(
    ("codec", "typed", "canonical"),
    [
        # ChirpStack sends devEui as 16 lower-case hex digits (topic and deviceInfo.devEui,
        # chirpstack-docs integrations/mqtt.md); labels print it in upper case, often grouped.
        ("chirpstack", "70B3D57ED0001234", "70b3d57ed0001234"),
        ("chirpstack", " 70-B3-D5-7E-D0-00-12-34 ", "70b3d57ed0001234"),
        ("chirpstack", "70:b3:d5:7e:d0:00:12:34", "70b3d57ed0001234"),
        ("chirpstack", "0x70B3D57ED0001234", "70b3d57ed0001234"),
        # zigbee2mqtt names a device by its IEEE address, "0x" + lower-case hex, until renamed.
        ("zigbee2mqtt", "0x00158D0003467624", "0x00158d0003467624"),
        ("zigbee2mqtt", "00:15:8D:00:03:46:76:24", "0x00158d0003467624"),
        ("zigbee2mqtt", "Kitchen/Smoke", "Kitchen/Smoke"),
        # CTWing deviceId compared in lower case; an IMEI copied with spaces is 15 digits.
        ("ctwing", "D01308047F864601A821E02DC328EAB4", "d01308047f864601a821e02dc328eab4"),
        ("ctwing", "8661 0405 1234 567", "866104051234567"),
        ("onenet", "C6z4Zk012B/test01", "C6z4Zk012B/test01"),
        ("onenet", " 518766092 ", "518766092"),
        ("native", "NZ-D0001", "NZ-D0001"),
    ],
)
def test_normalise_identity(codec: str, typed: str, canonical: str) -> None:
    assert normalise(codec, typed) == canonical
    assert normalise(codec, canonical) == canonical  # idempotent: lookups use it too


@pytest.mark.parametrize(
    ("codec", "typed", "says"),
    [
        ("chirpstack", "70B3D57ED00012", "16"),
        ("chirpstack", "70B3D57ED000123G", "16"),
        ("zigbee2mqtt", "kitchen/#", "#"),
        ("zigbee2mqtt", "kitchen/set", "/set"),
        ("zigbee2mqtt", "bridge/state", "bridge"),
        ("ctwing", "8661 0405 1234 56", "15"),
        ("ctwing", "has space inside", "CTWing"),
        ("onenet", "product/with space", "OneNET"),
        ("native", "-bad", "device id"),
        ("chirpstack", "   ", "empty"),
    ],
)
def test_normalise_rejects_malformed_identity(codec: str, typed: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        normalise(codec, typed)
