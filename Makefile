# Shortcuts; each one is a documented command underneath.
.PHONY: test lint reference-schema servers

# The test command (the README's and CI's): venv, PostgreSQL and Mosquitto binaries, ruff, mypy,
# pytest. Pass pytest arguments with ARGS, e.g. make test ARGS="-k ingest -x".
test:
	bash scripts/test $(ARGS)

lint:
	.venv/bin/ruff check . && .venv/bin/mypy

# Rewrite tests/reference_schema.txt (plain PostgreSQL) and tests/reference_schema_timescaledb.txt
# after adding a migration; review the diff and commit them with it. The TimescaleDB one needs
# binaries that have it: SMOKEWATCH_PG_BINDIR, or the tree ../shared/timescaledb/install builds.
reference-schema:
	@bindir="$${SMOKEWATCH_PG_BINDIR:-}"; \
	if [ -z "$$bindir" ] && [ -x ../shared/timescaledb/install ]; then \
		bindir="$$(../shared/timescaledb/install "$$PWD/build/timescaledb-pg15" | tail -n 1)"; \
	fi; \
	SMOKEWATCH_PG_BINDIR="$$bindir" .venv/bin/python -m tests.reference_schema --write

# A private PostgreSQL and Mosquitto in .smokewatch/servers until Ctrl-C (prints their URLs).
servers:
	.venv/bin/python -m devtools.localservers serve .smokewatch/servers

# The whole system on embedded servers with a simulated sub-district, until Ctrl-C. Pass
# options with ARGS, e.g. make demo ARGS=--reset.
.PHONY: demo
demo:
	bash scripts/demo $(ARGS)
