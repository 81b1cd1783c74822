"""``python -m bf_runner``: run one strategy runner replica until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio

from bf_runner.bootstrap import build_app


def main() -> None:
    """Run the FastStream application (it stops cleanly on SIGTERM/SIGINT)."""
    asyncio.run(build_app().run())


if __name__ == "__main__":
    main()
