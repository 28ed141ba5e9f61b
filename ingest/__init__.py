"""The ingest service: MQTT messages from detectors into PostgreSQL, exactly once.

Data flow: broker -> :mod:`ingest.lane` (one MQTT session per lane, manual acks)
-> :mod:`ingest.writer` (one thread and one connection per lane) -> :mod:`ingest.store`.
Events and telemetry travel in separate lanes so a fire alarm never queues behind telemetry.
"""
