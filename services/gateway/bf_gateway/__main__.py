"""``python -m bf_gateway``: the HTTP API and dashboard on BACKFUTURE_GATEWAY_HOST:PORT."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

import uvicorn

from bf_shared.logs import configure_logging

from bf_gateway.bootstrap import GatewaySettings, create_app


class _Server(uvicorn.Server):
    """uvicorn, but a graceful stop on SIGTERM/SIGINT exits 0.

    uvicorn re-raises the signal once its shutdown (our lifespan: projector stopped, NATS
    drained) is done, so the process would end "killed by SIGTERM"; like the other services,
    a clean stop here is a normal exit.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


def main() -> None:
    settings = GatewaySettings()
    configure_logging("gateway", settings.log_level, settings.log_json)
    config = uvicorn.Config(
        create_app(settings=settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        # None: uvicorn's loggers go through our redacting handler (the live feed's access
        # lines carry ?access_token=, masked there).
        log_config=None,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=10,
    )
    _Server(config).run()


if __name__ == "__main__":
    main()
