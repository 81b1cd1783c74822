"""The connection read model's projector: applies the tester's events to the views.

Idempotent by construction (see :mod:`bf_gateway.domain.projection`): a redelivered,
duplicated or out-of-order event leaves the view as it is. Events of a deleted connection
find no view and are dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeAlias

from bf_shared.messages import TestFailed, TestPassed, TestStarted

from bf_gateway.adapters.repositories import ConnectionStore
from bf_gateway.domain.connections import ConnectionView
from bf_gateway.domain.projection import on_test_finished, on_test_started

Outcome = Literal["applied", "ignored", "missing"]
TestEvent: TypeAlias = TestStarted | TestPassed | TestFailed


@dataclass(frozen=True)
class ProjectorDeps:
    views: ConnectionStore
    clock: Callable[[], datetime]


async def project(event: TestEvent, deps: ProjectorDeps) -> Outcome:
    """Apply one event; says whether it changed the view, was stale, or had no view."""
    now = deps.clock()
    changed = False

    def change(view: ConnectionView) -> ConnectionView | None:
        nonlocal changed
        if isinstance(event, TestStarted):
            new = on_test_started(view, event, now)
        else:
            new = on_test_finished(view, event.result, now)
        changed = new is not None
        return new

    view = await deps.views.mutate(event.user_id, event.connection_id, change)
    if view is None:
        return "missing"
    return "applied" if changed else "ignored"
