"""``python -m bf_tester``: run one tester replica until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio

from bf_tester.bootstrap import build_app


def main() -> None:
    """Run the FastStream application (it stops cleanly on SIGTERM/SIGINT)."""
    asyncio.run(build_app().run())


if __name__ == "__main__":
    main()
