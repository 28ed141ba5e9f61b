"""Shared core of smokewatch: settings, database access, migrations and domain types.

The services (ingest, alerting, api) and the simulator import this package and never
each other; they meet in PostgreSQL and on the MQTT broker.
"""
