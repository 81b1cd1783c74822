"""``python -m bf_gateway``: the HTTP API and dashboard on BACKFUTURE_GATEWAY_HOST:PORT."""

from __future__ import annotations

import uvicorn

from bf_shared.logs import configure_logging

from bf_gateway.bootstrap import GatewaySettings, create_app


def main() -> None:
    settings = GatewaySettings()
    configure_logging("gateway", settings.log_level, settings.log_json)
    app = create_app(settings=settings)
    # log_config=None: uvicorn's loggers go through our redacting handler (access lines
    # carry the live feed's ?access_token=, masked there). uvicorn handles SIGTERM/SIGINT
    # by running the lifespan's shutdown: NATS drained, subscriptions closed.
    uvicorn.run(
        app,
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_config=None,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
