"""Live progress of a running test: provisional checks as the connector's probes finish, then
the verdict's checks, on the connection's live feed (``bf.progress.<connection_id>.>``).

Policy stays in :func:`bf_tester.domain.checks.provisional_check`; this module only moves
messages, and never fails or holds up a test: a publication that fails is logged and dropped
(the verdict event carries every check anyway). Choices where the design is silent:

* Worse news sticks within a run: once a check was shown ``failed``, a later success for it
  is not shown. (A timed-out balance probe fails ``exchange_status``; the status probe's own
  success arriving afterwards must not flip the row back to ok: the verdict would not.)
* A check identical to the one already shown is not published again (six timed-out probes
  make one row, not six updates).
* Outcomes that name another test or connection are ignored; so is everything once the
  relay closed: after the reply, only the verdict's checks speak.
* Ids that are not single subject tokens get no live progress (they could address other
  subscribers); the test itself runs as usual.
* The connector does not know the attempt, so outcomes are told apart by test id only. That
  is enough: the tester waits for a reply longer than the connector's own probe deadline, so
  an attempt's probes are over before the next attempt of the same test can start.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

from bf_shared.messages import (
    Check,
    CheckProgress,
    ChecksProgress,
    CheckStatus,
    ProbeProgress,
    TestRequested,
    TestResult,
)
from bf_shared.subjects import is_token

from bf_tester.domain.checks import provisional_check
from bf_tester.ports import ProgressPort

log = logging.getLogger(__name__)


def _addressable(cmd: TestRequested) -> bool:
    return is_token(cmd.test_id) and is_token(cmd.connection_id)


class ProgressRelay:
    """Turns one run's probe outcomes into provisional checks on the live feed."""

    def __init__(self, cmd: TestRequested, port: ProgressPort | None, egress_ips: Sequence[str]) -> None:
        self._cmd = cmd
        self._port = port
        self._egress_ips = tuple(egress_ips)
        self._shown: dict[str, Check] = {}
        self._closed = False

    @contextlib.asynccontextmanager
    async def watching(self) -> AsyncIterator[None]:
        """Relay outcomes while the body runs (the body awaits the probe reply)."""
        port = self._port
        if port is None or not _addressable(self._cmd):
            yield
            return
        stack = contextlib.AsyncExitStack()
        try:
            await stack.enter_async_context(port.outcomes(self._cmd.test_id, self._deliver))
        except Exception as e:
            log.warning("no live progress for test %s (%s)", self._cmd.test_id, type(e).__name__)
        try:
            yield
        finally:
            try:
                await stack.aclose()  # delivers what already arrived, then stops listening
            except Exception as e:
                log.warning("live progress of test %s did not close cleanly (%s)", self._cmd.test_id, type(e).__name__)
            self._closed = True

    async def _deliver(self, progress: ProbeProgress) -> None:
        cmd = self._cmd
        if self._closed or progress.test_id != cmd.test_id or progress.connection_id != cmd.connection_id:
            return
        check = provisional_check(progress.outcome, markets=cmd.markets, egress_ips=self._egress_ips)
        if check is None:
            return
        shown = self._shown.get(check.name)
        if shown == check or (shown is not None and shown.status == CheckStatus.FAILED and check.status != CheckStatus.FAILED):
            return
        self._shown[check.name] = check
        await _send(self._port, cmd, CheckProgress(test_id=cmd.test_id, attempt=cmd.attempt, check=check))


async def publish_final_checks(port: ProgressPort | None, cmd: TestRequested, result: TestResult) -> None:
    """Put the verdict's checks on the live feed (just before the verdict event)."""
    if port is None or not _addressable(cmd):
        return
    await _send(port, cmd, ChecksProgress(test_id=cmd.test_id, attempt=cmd.attempt, checks=result.checks))


async def _send(port: ProgressPort | None, cmd: TestRequested, payload: CheckProgress | ChecksProgress) -> None:
    if port is None:
        return
    try:
        await port.publish(cmd.connection_id, payload)
    except Exception as e:  # the verdict event carries the checks anyway
        log.warning("live progress of test %s not published (%s)", cmd.test_id, type(e).__name__)
