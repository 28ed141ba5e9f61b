"""Device commands in ingest: the dispatcher sends them and records the devices' answers.

Why ingest: it already holds the broker sessions and receives everything devices publish, so
the acknowledgements (native ``<prefix>/<id>/ack``, ChirpStack ``event/ack``, zigbee2mqtt
state) arrive where the retry loop runs, without a second service on the broker; alerting is
HTTP-only and must never wait behind a slow device.
"""
