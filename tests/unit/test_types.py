"""Every service and the shared library type-check (mypy, pydantic plugin; config in pyproject)."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGES = [
    "shared/bf_shared",
    "services/gateway/bf_gateway",
    "services/tester/bf_tester",
    "services/connector/bf_connector",
    "services/strategy-runner/bf_runner",
    "services/alerter/bf_alerter",
    "services/exchange-sim/bf_sim",
    "deploy/bf_launch",
]


def test_the_code_type_checks() -> None:
    assert all((ROOT / p / "__init__.py").exists() for p in PACKAGES)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", *PACKAGES],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert "Success: no issues found" in result.stdout
