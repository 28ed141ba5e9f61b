"""Development tools: private servers and emulators for tests, benchmarks and the demo.

Never imported by a service (ingest, alerting, api): production runs its own PostgreSQL,
Mosquitto and providers. It ships in the package so ``smokewatch demo`` works from an
installed tree.
"""
