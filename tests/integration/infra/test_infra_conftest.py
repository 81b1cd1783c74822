"""The suite's conftest: soak tests are off unless asked for, visibly; directories mark tests."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = (Path(__file__).parents[2] / "conftest.py").read_text()
INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
markers =
    integration: x
    e2e: x
    soak: x
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(INI)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        **{
            "integration/test_a.py": "def test_integration_dir(request):\n"
            "    assert request.node.get_closest_marker('integration')\n",
            "e2e/test_b.py": "def test_e2e_dir(request):\n    assert request.node.get_closest_marker('e2e')\n",
            "unit/test_c.py": "import pytest\n\n@pytest.mark.soak\ndef test_long_run():\n    pass\n",
        }
    )
    return pytester


def test_soak_tests_are_skipped_with_the_reason_in_the_summary(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BACKFUTURE_SOAK", raising=False)
    result = suite.runpytest("-q")
    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED*soak test: runs only with BACKFUTURE_SOAK=1*"])


def test_soak_tests_run_with_backfuture_soak_1(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKFUTURE_SOAK", "1")
    suite.runpytest("-q").assert_outcomes(passed=3)
