"""Ingest settings for the vendor formats: fail fast, and reach the codecs."""

from __future__ import annotations

import pytest
from codec_support import NOW, events
from pydantic import ValidationError

from core.codecs.registry import default_registry
from core.codecs.types import Message
from core.domain import EventType
from core.errors import ConfigurationError
from ingest.settings import IngestSettings


def settings(**values: object) -> IngestSettings:
    return IngestSettings(_env_file=None, **values)  # type: ignore[call-arg]


def test_refuse_production_without_onenet_token() -> None:
    with pytest.raises(ConfigurationError, match="ONENET_TOKEN"):
        settings(environment="production")


def test_accept_production_without_onenet_when_left_out() -> None:
    chosen = settings(environment="production", ingest_codecs=["zigbee2mqtt", "ctwing"])
    assert chosen.ingest_codecs == ("zigbee2mqtt", "ctwing")


@pytest.mark.parametrize(
    ("environment", "token", "verify"),
    [("development", None, False), ("test", None, True), ("production", "t", True)],
)
def test_verify_onenet_signatures_outside_development(
    environment: str, token: str | None, verify: bool
) -> None:
    config = settings(environment=environment, onenet_token=token).codec_config()
    assert config.onenet_verify is verify


def test_apply_product_property_map_from_settings() -> None:
    config = settings(ctwing_property_maps={"15045240": {"alarm": ["YG_State"]}}).codec_config()
    codec = default_registry(config).get("ctwing")
    body = (
        b'{"messageType":"dataReport","deviceId":"d1","productId":"15045240",'
        b'"timestamp":1795694340000,"payload":{"yg_state":1}}'
    )
    decoded = codec.decode(Message(body, NOW), {})
    assert events(decoded) == [EventType.ALARM]


def test_refuse_unknown_property_map_field() -> None:
    with pytest.raises(ValidationError):
        settings(onenet_property_maps={"p": {"smoke_alrm": ["x"]}})
