"""Strategy use cases: enable, list, read, change, disable.

The spec in KV ``bf_strategies`` is the source of truth the runners act on; the events
(``strategy-enabled``/``-updated``/``-disabled``) tell everyone else. Order of effects:

* enable: validate (body, presets, connection Online with the market and rights, pairs the
  exchange lists) -> spec and index -> ``StrategyEnabled``. If the event cannot be published
  the spec is removed again and the call answers 503, so nothing runs unannounced.
* change and disable: spec (compare-and-set) -> event. The runners follow the spec, so a
  failed publish answers 503 but the change holds; repeating the call is harmless (the
  disable event has a fixed message id, de-duplicated by the stream).

Checks answer, in this order: 404 (no such connection/strategy for this user), 422 (the
body), 409 (the connection is not Online, lacks the market or futures rights; the strategy
is disabled), 422 (a pair the exchange does not list), 503 (a dependency is down).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from bf_shared import subjects
from bf_shared.exchanges import get_exchange
from bf_shared.strategy import (
    StrategyCreate,
    StrategyParams,
    StrategyPatch,
    UnknownPairGroup,
    resolve_create,
    resolve_patch,
)
from bf_shared.strategy_messages import (
    StrategyDisabled,
    StrategyEnabled,
    StrategySpec,
    StrategyStatusView,
    StrategyUpdated,
)

from bf_gateway.adapters.kv import KvError
from bf_gateway.adapters.publisher import PublishFailed, Publisher
from bf_gateway.adapters.repositories import ConnectionStore
from bf_gateway.domain.connections import ConnectionView
from bf_gateway.domain.errors import Conflict, FieldProblem, InvalidInput, NotFound, Unavailable
from bf_gateway.strategies.markets import Markets, MarketsUnavailable
from bf_gateway.strategies.store import StrategyStore

NO_CONNECTION = "No such connection."
NO_STRATEGY = "No such strategy."
_PLAIN_NAME = re.compile(r"^[a-z][a-z_.]{0,48}$")


@dataclass(frozen=True)
class StrategyDeps:
    """What the strategy use cases need."""

    strategies: StrategyStore
    connections: ConnectionStore
    markets: Markets
    publisher: Publisher
    clock: Callable[[], datetime]
    new_id: Callable[[], str]
    max_per_connection: int = 50


def _problems(error: ValidationError) -> list[FieldProblem]:
    """Field-level messages in the rules' own words; never the rejected input itself."""
    out: list[FieldProblem] = []
    for e in error.errors():
        field = ".".join(str(p) for p in e.get("loc", ()) if not isinstance(p, int)) or "body"
        kind = e.get("type", "")
        if kind == "extra_forbidden":
            problem = (FieldProblem(field, f"{field} is not a known field; remove it") if _PLAIN_NAME.match(field)
                       else FieldProblem("body", "the body has a field this route does not accept; remove it"))
        elif kind == "missing":
            problem = FieldProblem(field, f"{field} is required")
        elif kind == "value_error" and isinstance((e.get("ctx") or {}).get("error"), ValueError):
            problem = FieldProblem(field, str(e["ctx"]["error"]))
        else:
            problem = FieldProblem(field, f"{field}: {e.get('msg', 'invalid value')}")
        if problem not in out:
            out.append(problem)
    return out


def _parse(model: type[StrategyCreate] | type[StrategyPatch], body: object) -> Any:
    if not isinstance(body, dict):
        raise InvalidInput([FieldProblem("body", "the body must be a JSON object")])
    try:
        return model.model_validate(body)
    except ValidationError as e:
        raise InvalidInput(_problems(e)) from None


def _unavailable(what: str) -> Unavailable:
    return Unavailable(f"The platform's message bus is unavailable; {what}. Try again in a moment.")


async def _connection(connection_id: str, user_id: str, deps: StrategyDeps) -> ConnectionView:
    try:
        view = await deps.connections.get(user_id, connection_id)
    except KvError:
        raise _unavailable("the connection could not be read") from None
    if view is None:
        raise NotFound(NO_CONNECTION)
    return view


def _check_connection(view: ConnectionView, params: StrategyParams) -> None:
    if view.status != "online":
        raise Conflict(f"The connection is {view.status}: strategies can be enabled only on an Online connection. "
                       "Fix what its last test reported and test it again.", code="connection_not_online")
    if params.market not in view.markets:
        raise Conflict(f"This connection was added without the {params.market} market; add it to the connection "
                       "or pick the other market.", code="market_not_enabled", field="market")
    permissions = view.last_test.permissions if view.last_test is not None else None
    if params.market == "futures" and (permissions is None or permissions.futures is not True):
        raise Conflict("The connection's key has no futures rights: enable futures on the key and test the "
                       "connection again, or use the spot market.", code="no_futures_permission", field="market")


async def _check_pairs(view: ConnectionView, params: StrategyParams, deps: StrategyDeps) -> None:
    try:
        listed = await deps.markets.pairs(view.exchange, params.market)
    except MarketsUnavailable:
        raise Unavailable("The exchange's list of pairs cannot be fetched right now; try again in a moment.") from None
    unknown = [p for p in params.pairs if p not in listed]
    if unknown:
        info = get_exchange(view.exchange)
        name = info.name if info is not None else view.exchange
        raise InvalidInput([FieldProblem("pairs", f"{', '.join(unknown)}: not traded on {name} {params.market}")],
                           message="Some pairs are not traded on this exchange.")


async def _status(strategy_id: str, deps: StrategyDeps) -> StrategyStatusView | None:
    try:
        return await deps.strategies.status(strategy_id)
    except KvError:
        return None  # the spec alone still describes the strategy


# ----------------------------------------------------------------------------- use cases


async def enable_strategy(connection_id: str, body: object, user_id: str,
                          deps: StrategyDeps) -> tuple[StrategySpec, StrategyStatusView | None]:
    """Validate, store and announce a new strategy on an Online connection."""
    view = await _connection(connection_id, user_id, deps)
    request: StrategyCreate = _parse(StrategyCreate, body)
    try:
        params = resolve_create(request)
    except UnknownPairGroup as e:
        raise InvalidInput([FieldProblem("pair_group", str(e))]) from None
    except ValidationError as e:
        raise InvalidInput(_problems(e)) from None
    _check_connection(view, params)
    await _check_pairs(view, params, deps)
    try:
        existing = await deps.strategies.of_connection(connection_id)
    except KvError:
        raise _unavailable("the strategy was not enabled") from None
    if sum(1 for s in existing if s.enabled) >= deps.max_per_connection:
        raise Conflict(f"A connection runs at most {deps.max_per_connection} strategies; disable one first.",
                       code="too_many_strategies")
    now = deps.clock()
    spec = StrategySpec(strategy_id=deps.new_id(), user_id=user_id, connection_id=connection_id,
                        exchange=view.exchange, params=params, created_at=now, updated_at=now)
    try:
        await deps.strategies.create(spec)
    except KvError:
        raise _unavailable("the strategy was not enabled") from None
    event = StrategyEnabled(strategy_id=spec.strategy_id, user_id=user_id, connection_id=connection_id,
                            exchange=view.exchange, params=params, version=spec.version, occurred_at=now)
    try:
        await deps.publisher.publish(subjects.STRATEGY_ENABLED, event)
    except PublishFailed:
        try:
            await deps.strategies.remove(spec)
        except KvError:
            pass  # the runners start it anyway; the user sees it in the list
        raise _unavailable("the strategy was not enabled") from None
    return spec, None


async def list_strategies(connection_id: str, user_id: str,
                          deps: StrategyDeps) -> list[tuple[StrategySpec, StrategyStatusView | None]]:
    """The connection's strategies (disabled ones included), oldest first."""
    await _connection(connection_id, user_id, deps)
    try:
        specs = await deps.strategies.of_connection(connection_id)
    except KvError:
        raise _unavailable("the strategies could not be read") from None
    return [(s, await _status(s.strategy_id, deps)) for s in specs if s.user_id == user_id]


async def get_strategy(strategy_id: str, user_id: str,
                       deps: StrategyDeps) -> tuple[StrategySpec, StrategyStatusView | None]:
    """One of the caller's strategies; another user's answers 404."""
    try:
        spec = await deps.strategies.get(strategy_id)
    except KvError:
        raise _unavailable("the strategy could not be read") from None
    if spec is None or spec.user_id != user_id:
        raise NotFound(NO_STRATEGY)
    return spec, await _status(strategy_id, deps)


async def update_strategy(strategy_id: str, body: object, user_id: str,
                          deps: StrategyDeps) -> tuple[StrategySpec, StrategyStatusView | None]:
    """Change parameters, rename, or pause/resume; the runner applies it to open positions."""
    current, _ = await get_strategy(strategy_id, user_id, deps)
    patch: StrategyPatch = _parse(StrategyPatch, body)
    if not current.enabled:
        raise Conflict("This strategy is disabled; enable a new one instead.", code="strategy_disabled")
    try:
        params = resolve_patch(current.params, patch)
    except ValidationError as e:
        raise InvalidInput(_problems(e)) from None
    now = deps.clock()

    def change(spec: StrategySpec) -> StrategySpec | None:
        if not spec.enabled:
            return None
        paused = spec.paused_by_user if patch.paused is None else patch.paused
        if params == spec.params and paused == spec.paused_by_user:
            return None
        return spec.model_copy(update={"params": params, "paused_by_user": paused, "version": spec.version + 1,
                                       "updated_at": now})

    try:
        spec = await deps.strategies.mutate(strategy_id, change)
    except KvError:
        raise _unavailable("the strategy was not changed") from None
    if spec is None:
        raise NotFound(NO_STRATEGY)
    if not spec.enabled:
        raise Conflict("This strategy is disabled; enable a new one instead.", code="strategy_disabled")
    if spec.version != current.version:
        event = StrategyUpdated(message_id=f"{spec.strategy_id}.v{spec.version}", strategy_id=spec.strategy_id,
                                user_id=user_id, connection_id=spec.connection_id, exchange=spec.exchange,
                                params=spec.params, version=spec.version, paused_by_user=spec.paused_by_user,
                                occurred_at=now)
        try:
            await deps.publisher.publish(subjects.STRATEGY_UPDATED, event)
        except PublishFailed:
            raise _unavailable("the change is saved but not yet announced") from None
    return spec, await _status(strategy_id, deps)


async def disable_strategy(strategy_id: str, user_id: str, deps: StrategyDeps) -> None:
    """Stop the strategy: its runner cancels the open orders; positions stay with the user."""
    await get_strategy(strategy_id, user_id, deps)
    now = deps.clock()

    def change(spec: StrategySpec) -> StrategySpec | None:
        if not spec.enabled:
            return None
        return spec.model_copy(update={"enabled": False, "version": spec.version + 1, "updated_at": now})

    try:
        spec = await deps.strategies.mutate(strategy_id, change)
    except KvError:
        raise _unavailable("the strategy was not disabled") from None
    if spec is None:
        raise NotFound(NO_STRATEGY)
    event = StrategyDisabled(message_id=f"{strategy_id}.disabled", strategy_id=strategy_id, user_id=user_id,
                             connection_id=spec.connection_id, exchange=spec.exchange, reason="user",
                             detail="disabled by the user", occurred_at=now)
    try:
        await deps.publisher.publish(subjects.STRATEGY_DISABLED, event)
    except PublishFailed:
        raise _unavailable("the strategy is stopping but the change is not yet announced") from None
