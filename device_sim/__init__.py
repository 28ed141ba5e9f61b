"""Simulated smoke detectors speaking the native protocol (docs/protocol.md).

A library for tests and benchmarks as much as ``smokewatch sim``; it imports ``core`` and
never a service. Modules:

- ``detector``: one detector's state and messages; fleets (``programme_ids``, ``numbered_ids``).
- ``scenarios``: fire, nuisance, battery, tamper, fault, self_test, silent, reboot, duplicate,
  malformed, as timelines of steps; ``play`` runs one without a broker.
- ``malformed``: bad input with the DecodeError code each must give.
- ``runner``: ``Simulation`` plays reports and scenarios into a sink; ``SimReport`` counts.
- ``sinks`` / ``mqtt`` / ``rawmqtt``: QoS 1 publishing with exact ack counts.
- ``load``: the multi-process load mode for benchmarks.
- ``registration``: registers simulated devices so ingest accepts them.
- ``cli_entry``: ``SimOptions``, ``run``, ``run_load``, ``summarize`` for smokewatch/cli.py.
"""
