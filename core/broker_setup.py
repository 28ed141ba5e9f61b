"""``python -m core.broker_setup``: the service roles and accounts on a dynamic-security broker.

Run once after the broker is up (docker-compose's ``broker-accounts`` step, a Kubernetes Job)
and again after changing a password: every step is idempotent. Devices are not created here;
the registry registers each one when it issues its credentials (core.broker_auth), but device
accounts of earlier versions are bound to their client id here.
"""

from __future__ import annotations

import logging
import sys

from pydantic import SecretStr

from core.broker_auth import (
    API_READY_CLIENT,
    INGEST_LANES,
    DynsecAdmin,
    ingest_lane_client_id,
    service_client_id,
)
from core.codecs.registry import CodecConfig, default_registry
from core.config import CommonSettings
from core.errors import ConfigurationError
from core.logging import setup_logging

log = logging.getLogger(__name__)
# Accounts of earlier versions: one per service, not bound to any client id. Deleted, so that
# their passwords can no longer take over another connection's session (issue 15).
LEGACY_ACCOUNTS = ("smokewatch-ingest", "smokewatch-api")


class BrokerSetupSettings(CommonSettings):
    """The broker's admin URL and one password per service account (empty: leave it alone)."""

    broker_admin_url: SecretStr = SecretStr("mqtt://admin:admin@127.0.0.1:1883")
    broker_ingest_password: SecretStr = SecretStr("")
    broker_sim_password: SecretStr = SecretStr("")
    broker_api_password: SecretStr = SecretStr("")
    # SMOKEWATCH_INGEST_CLIENT_ID of every ingest worker (in Kubernetes the StatefulSet's pod
    # names, smokewatch-ingest-0 ... up to the HPA's maximum): each lane gets its account.
    broker_ingest_workers: tuple[str, ...] = ("smokewatch-ingest-1",)
    # The vendor topic trees ingest reads (the same variables as the ingest service's).
    zigbee2mqtt_base_topic: str = "zigbee2mqtt"
    chirpstack_topic_prefix: str = "application"

    def vendor_filters(self) -> tuple[str, ...]:
        """The MQTT filters of the vendor codecs, as ingest subscribes to them."""
        config = CodecConfig(
            zigbee2mqtt_base_topic=self.zigbee2mqtt_base_topic.strip("/"),
            chirpstack_topic_prefix=self.chirpstack_topic_prefix.strip("/"),
        )
        return default_registry(config).mqtt_filters()

    def accounts(self) -> list[tuple[str, str, str]]:
        """(user name = client id, role, password) of every bound service account to write."""
        suffix = self.mqtt_client_suffix
        ingest = self.broker_ingest_password.get_secret_value()
        api = self.broker_api_password.get_secret_value()
        rows = [
            (ingest_lane_client_id(worker, lane, suffix), "smokewatch-ingest", ingest)
            for worker in self.broker_ingest_workers
            for lane in INGEST_LANES
        ]
        rows.append((service_client_id(API_READY_CLIENT, suffix), "smokewatch-api", api))
        return [row for row in rows if row[2]]


def setup(settings: BrokerSetupSettings) -> list[str]:
    """Create or update the service roles and accounts, bind devices; the accounts written."""
    sim_password = settings.broker_sim_password.get_secret_value()
    if sim_password and settings.environment == "production":
        # The simulator's account plays every device and cannot be bound to one client id.
        raise ConfigurationError("no smokewatch-sim account in production")
    written = []
    with DynsecAdmin(settings.broker_admin_url.get_secret_value()) as admin:
        admin.ensure_service_roles(settings.topic_prefix, settings.vendor_filters())
        for username, role, password in settings.accounts():
            admin.create_service_account(username, password, role)
            written.append(username)
        if sim_password:
            admin.create_service_account("smokewatch-sim", sim_password, "smokewatch-sim",
                                         bind=False)  # fmt: skip
            written.append("smokewatch-sim")
        for legacy in LEGACY_ACCOUNTS:
            admin.command("deleteClient", username=legacy, missing_ok=True)
        bound = admin.bind_devices()
    log.info("device accounts bound to their client id now: %d", bound)
    return written


def main() -> int:
    settings = BrokerSetupSettings()
    setup_logging(settings)
    written = setup(settings)
    log.info("broker roles ready; accounts written: %s", ", ".join(written) or "none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
