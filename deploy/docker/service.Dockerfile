# One image per service, built from this generic file:
#   docker build -f deploy/docker/service.Dockerfile --build-arg SERVICE=gateway .
# SERVICE is the module suffix: gateway, connector, tester, alerter, runner, sim, launch
# (launch = the Vault bootstrap job, `python -m bf_launch vault-init`).

ARG PYTHON_VERSION=3.11

# Build stage: wheels for the project and every dependency (no compilers in the final image).
FROM python:${PYTHON_VERSION}-slim AS build
WORKDIR /src
COPY pyproject.toml ./
COPY shared ./shared
COPY services ./services
COPY deploy/bf_launch ./deploy/bf_launch
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:${PYTHON_VERSION}-slim
ARG SERVICE
RUN test -n "${SERVICE}" || (echo "build with --build-arg SERVICE=<gateway|connector|...>" >&2; exit 1)
ENV BF_MODULE=bf_${SERVICE} \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    BACKFUTURE_VAULT_POLICY_DIR=/app/vault/policies
# A fixed non-root uid: the Vault credentials volumes are created owned by it (named volumes
# take the ownership of the image directory they are mounted on).
RUN useradd --system --uid 10001 --home-dir /app --create-home app \
 && mkdir -p /run/backfuture/vault /bootstrap/state /bootstrap/creds/gateway /bootstrap/creds/connector \
 && chown -R app /run/backfuture /bootstrap \
 && chmod 700 /run/backfuture/vault /bootstrap/state /bootstrap/creds/gateway /bootstrap/creds/connector
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels backfuture-connect && rm -rf /wheels
COPY deploy/vault/policies /app/vault/policies
COPY deploy/docker/entrypoint.sh /usr/local/bin/bf-entrypoint
USER 10001
WORKDIR /app
ENTRYPOINT ["/usr/local/bin/bf-entrypoint"]
