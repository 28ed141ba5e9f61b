"""Prometheus metrics of the ingest service."""

from prometheus_client import Counter, Gauge, Histogram

RECEIVED = Counter("smokewatch_ingest_received_total", "MQTT messages received", ["lane"])
STORED = Counter("smokewatch_ingest_stored_total", "Records newly stored", ["kind"])
DUPLICATES = Counter(
    "smokewatch_ingest_duplicates_total", "Redelivered records recognised and skipped", ["lane"]
)
DEAD_LETTERS = Counter(
    "smokewatch_ingest_dead_letters_total", "Messages parked in the dead-letter table", ["reason"]
)
BATCH_SIZE = Histogram(
    "smokewatch_ingest_batch_size",
    "Messages per committed batch",
    ["lane"],
    buckets=(1, 2, 5, 10, 50, 100, 250, 500, 1000, 2000, 5000),
)
COMMIT_LATENCY = Histogram(
    "smokewatch_ingest_commit_latency_seconds",
    "From receipt of the oldest message of a batch to its commit",
    ["lane"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5),
)
QUEUE_DEPTH = Gauge("smokewatch_ingest_queue_depth", "Received, not yet committed", ["lane"])
LAG = Gauge(
    "smokewatch_ingest_lag_seconds", "Age of the oldest received but uncommitted message", ["lane"]
)
DB_ERRORS = Counter(
    "smokewatch_ingest_database_errors_total", "Failed writes that will be retried", ["lane"]
)
MQTT_CONNECTED = Gauge(
    "smokewatch_ingest_mqtt_connected", "1 while the lane is connected", ["lane"]
)
MQTT_RECONNECTS = Counter("smokewatch_ingest_mqtt_reconnects_total", "Lost connections", ["lane"])
UNREGISTERED = Counter(
    "smokewatch_ingest_unregistered_total", "Messages naming an unregistered identity", ["codec"]
)
GATEWAY_ONLINE = Gauge(
    "smokewatch_ingest_gateway_online",
    "1 while a gateway (zigbee2mqtt bridge) is online",
    ["codec", "gateway"],
)
PUSH_PROCESSED = Counter(
    "smokewatch_ingest_push_processed_total", "HTTP push requests taken from the inbox"
)
# Device commands (ingest/commands/): what an operator's silence or an installer's self-test
# became. A rise in "expired" or "undeliverable" is a transport or a detector model gone wrong.
COMMANDS_SENT = Counter(
    "smokewatch_ingest_commands_sent_total",
    "Device commands published to the broker or accepted by a carrier platform (resends too)",
    ["transport", "kind"],
)
COMMANDS_FINISHED = Counter(
    "smokewatch_ingest_commands_finished_total",
    "Device commands ended here: the device's result (ok, rejected, unsupported, busy), "
    "undeliverable or expired",
    ["kind", "result"],
)
COMMAND_ANSWER = Histogram(
    "smokewatch_ingest_command_answer_seconds",
    "From the request to the device's answer",
    ["kind"],
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900),
)
