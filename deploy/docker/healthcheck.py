"""Container HEALTHCHECK: exit 0 when the service's health URL answers 200.

The URL is ``BACKFUTURE_HEALTH_URL`` if set, else ``http://127.0.0.1:<BACKFUTURE_OPS_PORT>/healthz``.
Standard library only: the runtime images have no curl.
"""

import os
import sys
import urllib.request

url = os.environ.get("BACKFUTURE_HEALTH_URL") or f"http://127.0.0.1:{os.environ.get('BACKFUTURE_OPS_PORT', '9000')}/healthz"
try:
    with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - a fixed loopback URL
        sys.exit(0 if response.status == 200 else 1)
except Exception:
    sys.exit(1)
