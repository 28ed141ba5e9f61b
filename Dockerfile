# One image for every smokewatch service: `smokewatch migrate | ingest | alerting | api`.
# Build: docker build -t smokewatch:dev .     (docker-compose.yml builds it for you)

# --- build: a virtualenv with the project and its dependencies, compiled with the tool chain ---
FROM python:3.11.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/smokewatch
WORKDIR /src
# Dependencies first so that a code change does not reinstall them.
COPY pyproject.toml README.md ./
COPY core ./core
COPY ingest ./ingest
COPY alerting ./alerting
COPY api ./api
COPY device_sim ./device_sim
COPY smokewatch ./smokewatch
RUN /opt/smokewatch/bin/pip install .

# --- runtime: the virtualenv only, run as an unprivileged user -------------------------------
FROM python:3.11.11-slim-bookworm AS runtime
ENV PATH=/opt/smokewatch/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    SMOKEWATCH_LOG_FORMAT=json
RUN groupadd --system --gid 10001 smokewatch \
    && useradd --system --uid 10001 --gid smokewatch --no-create-home smokewatch
COPY --from=build /opt/smokewatch /opt/smokewatch
USER 10001:10001
# api 8000, ingest metrics 9101, alerting metrics 9102
EXPOSE 8000 9101 9102
ENTRYPOINT ["smokewatch"]
CMD ["--help"]
