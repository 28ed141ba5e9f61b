"""The ingest service: MQTT messages from detectors into PostgreSQL, exactly once.

Data flow: broker -> :mod:`ingest.lane` (one MQTT session per lane, manual acks; records each
message as a frozen :class:`ingest.received.Received`) -> :mod:`ingest.writer` (one thread and
one connection per lane; per batch, one transaction) -> :mod:`ingest.decode` (picks each
message's codec and decodes, vendor codec state locked in :mod:`ingest.vendor`) ->
:mod:`ingest.store` (only writes). HTTP push takes the same decode and store from the inbox
(:mod:`ingest.push_inbox`). Events and telemetry travel in separate lanes so a fire alarm
never queues behind telemetry.
"""
