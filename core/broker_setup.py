"""``python -m core.broker_setup``: the service roles and accounts on a dynamic-security broker.

Run once after the broker is up (docker-compose's ``broker-accounts`` step, a Kubernetes Job)
and again after changing a password: every step is idempotent. Devices are not created here;
the registry registers each one when it issues its credentials (core.broker_auth).
"""

from __future__ import annotations

import logging
import sys

from pydantic import SecretStr

from core.broker_auth import DynsecAdmin
from core.codecs.registry import CodecConfig, default_registry
from core.config import CommonSettings
from core.logging import setup_logging

log = logging.getLogger(__name__)
# account name -> role; the account name is also the MQTT username the service connects with.
ACCOUNTS = {
    "smokewatch-ingest": "smokewatch-ingest",
    "smokewatch-sim": "smokewatch-sim",
    "smokewatch-api": "smokewatch-api",
}


class BrokerSetupSettings(CommonSettings):
    """The broker's admin URL and one password per service account (empty: leave it alone)."""

    broker_admin_url: SecretStr = SecretStr("mqtt://admin:admin@127.0.0.1:1883")
    broker_ingest_password: SecretStr = SecretStr("")
    broker_sim_password: SecretStr = SecretStr("")
    broker_api_password: SecretStr = SecretStr("")
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


def setup(settings: BrokerSetupSettings) -> list[str]:
    """Create or update the service roles and accounts; return the accounts written."""
    passwords = {
        "smokewatch-ingest": settings.broker_ingest_password.get_secret_value(),
        "smokewatch-sim": settings.broker_sim_password.get_secret_value(),
        "smokewatch-api": settings.broker_api_password.get_secret_value(),
    }
    written = []
    with DynsecAdmin(settings.broker_admin_url.get_secret_value()) as admin:
        admin.ensure_service_roles(settings.topic_prefix, settings.vendor_filters())
        for account, role in ACCOUNTS.items():
            if passwords[account]:
                admin.create_service_account(account, passwords[account], role)
                written.append(account)
    return written


def main() -> int:
    settings = BrokerSetupSettings()
    setup_logging(settings)
    written = setup(settings)
    log.info("broker roles ready; accounts written: %s", ", ".join(written) or "none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
