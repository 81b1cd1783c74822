"""``python -m bf_connector --exchange mexc``: one connector process for one exchange."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bf_shared.logs import configure_logging
from bf_shared.settings import VaultSettings

from bf_connector.bootstrap import serve
from bf_connector.exchanges import VENUES
from bf_connector.settings import ConnectorSettings


def main(argv: list[str] | None = None) -> int:
    """Parse the flag, read the environment, run until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="bf_connector", description=__doc__)
    parser.add_argument("--exchange", choices=sorted(VENUES), help="exchange to serve (else BACKFUTURE_EXCHANGE)")
    args = parser.parse_args(argv)
    settings = ConnectorSettings(exchange=args.exchange) if args.exchange else ConnectorSettings()
    if settings.exchange not in VENUES:
        parser.error(f"--exchange must be one of {', '.join(sorted(VENUES))}")
    configure_logging("connector", settings.log_level, settings.log_json)
    asyncio.run(serve(settings, VaultSettings()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
