"""The alert rules: pure functions from (event, previous state) to (alerts, next state).

Each evaluation returns its candidate alerts *most specific first*; the handler sends one
notification per event, the first candidate whose rule the user has enabled. So a key that
can withdraw on a connection that was Online produces one critical "withdraw enabled"
alert, not three messages for one fact — and a user who muted that rule still hears that
the connection went offline.

Rules (decided where the design is silent, for a trader who wants signal, not noise):

* ``withdraw_enabled`` — a test failed with ``withdraw_enabled``; always critical.
* ``connection_offline`` — a verdict ``failed`` arrives for a connection whose last verdict
  was ``passed`` (Online -> Failed); its strategies pause.
* ``test_failed`` — a test failed with a code the user must act on. Retryable codes
  (exchange down, throttled, clock skew) are not notified per attempt: the tester retries
  them, and a long outage is the ``exchange_unavailable`` rule.
* ``exchange_unavailable`` — ``exchange_unavailable`` failures on one exchange have lasted
  ``down_after`` without the exchange answering in between; each affected user is told
  once per outage. It fires on the first failure past the threshold (the tester's retries
  keep them coming); a stalled tester is the Prometheus rules' business.
* ``strategy_paused`` — a strategy paused by itself (the runner's ``strategy.paused``).
* ``lease_lost`` — a runner took a strategy over from one that died (the runner's
  ``strategy.lease_lost``); information for the strategy's owner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bf_shared.codes import TEXTS, ErrorCode, should_retry
from bf_shared.exchanges import get_exchange
from bf_shared.messages import ConnectionAdded, ConnectionRenamed, TestFailed, TestPassed
from bf_shared.notifications import AlertRule

from bf_alerter.domain.alerts import Alert, Severity, alert_id
from bf_alerter.domain.state import ConnectionState, ExchangeState
from bf_alerter.domain.strategy import StrategyNotice


@dataclass(frozen=True)
class Evaluation:
    """What one event means: alerts to consider and the state to store afterwards."""

    candidates: tuple[Alert, ...] = ()
    connection: ConnectionState | None = None  # None: leave the stored state as it is
    exchange: ExchangeState | None = None
    forget_connection: bool = False
    notes: tuple[str, ...] = field(default=())


def _exchange_name(exchange: str) -> str:
    info = get_exchange(exchange)
    return info.name if info else exchange


def _label(conn: ConnectionState | None, exchange: str) -> str:
    if conn is not None and conn.name:
        return f"'{conn.name}' ({_exchange_name(exchange)})"
    return f"your {_exchange_name(exchange)} connection"


def _is_newer(at: datetime, conn: ConnectionState | None) -> bool:
    # Only verdicts are ordered against each other; "untested" just carries the name.
    return conn is None or conn.status == "untested" or at >= conn.as_of


def on_connection_named(
    event: ConnectionAdded | ConnectionRenamed, conn: ConnectionState | None
) -> Evaluation:
    """Remember the connection's name so alert texts can say which connection it is."""
    if conn is not None:
        return Evaluation(connection=conn.model_copy(update={"name": event.name}))
    exchange = event.exchange if isinstance(event, ConnectionAdded) else ""
    return Evaluation(
        connection=ConnectionState(
            connection_id=event.connection_id,
            user_id=event.user_id,
            exchange=exchange,
            status="untested",
            as_of=event.occurred_at,
            name=event.name,
        )
    )


def on_test_passed(
    event: TestPassed, conn: ConnectionState | None, exch: ExchangeState | None
) -> Evaluation:
    """A pass: the connection is Online and its exchange answered (an outage run ends)."""
    at = event.result.finished_at
    next_conn = None
    if _is_newer(at, conn):
        next_conn = ConnectionState(
            connection_id=event.connection_id,
            user_id=event.user_id,
            exchange=event.exchange,
            status="online",
            as_of=at,
            name=conn.name if conn else None,
        )
    return Evaluation(connection=next_conn, exchange=_exchange_answered(event.exchange, exch, at))


def _exchange_answered(exchange: str, exch: ExchangeState | None, at: datetime) -> ExchangeState:
    state = exch or ExchangeState(exchange=exchange)
    if state.unavailable_since is not None and (state.last_failure_at is None or at >= state.last_failure_at):
        return state.model_copy(update={"unavailable_since": None, "last_ok_at": at})
    return state.model_copy(update={"last_ok_at": max(at, state.last_ok_at or at)})


def on_test_failed(
    event: TestFailed,
    conn: ConnectionState | None,
    exch: ExchangeState | None,
    down_after: timedelta,
) -> Evaluation:
    """A failed verdict: the candidate alerts, most specific first, and the next state."""
    at = event.result.finished_at
    error = event.result.error
    code = error.code if error is not None else None
    label = _label(conn, event.exchange)
    candidates: list[Alert] = []

    def make(rule: AlertRule, severity: Severity, title: str, text: str, *id_parts: str) -> Alert:
        return Alert(
            alert_id=alert_id(rule, *(id_parts or (event.message_id,)), event.user_id),
            rule=rule,
            severity=severity,
            user_id=event.user_id,
            title=title,
            text=text,
            occurred_at=at,
            source_event_id=event.message_id,
            exchange=event.exchange,
            connection_id=event.connection_id,
            code=code.value if code else None,
        )

    cause, remedy = TEXTS[code] if code else ("The connection test failed.", "Open the connection to see which check failed.")
    if code is ErrorCode.WITHDRAW_ENABLED:
        candidates.append(
            make(AlertRule.WITHDRAW_ENABLED, Severity.CRITICAL,
                 f"API key of {label} can withdraw funds", f"{cause} {remedy}")
        )
    was_online = conn is not None and conn.status == "online" and _is_newer(at, conn)
    if was_online:
        candidates.append(
            make(AlertRule.CONNECTION_OFFLINE, Severity.CRITICAL,
                 f"{label} went offline",
                 f"{cause} Strategies on this connection are paused. {remedy}")
        )
    if code is not None and not should_retry(code):
        candidates.append(
            make(AlertRule.TEST_FAILED, Severity.WARNING, f"Connection test of {label} failed", f"{cause} {remedy}")
        )
    elif code is None:
        candidates.append(make(AlertRule.TEST_FAILED, Severity.WARNING, f"Connection test of {label} failed", cause))

    next_exch = exch
    if code is ErrorCode.EXCHANGE_UNAVAILABLE:
        state = exch or ExchangeState(exchange=event.exchange)
        stale = state.unavailable_since is None and state.last_ok_at is not None and state.last_ok_at > at
        since = state.unavailable_since or at
        if not stale:  # a failure older than the last proof of life opens no run
            next_exch = state.model_copy(
                update={"unavailable_since": since, "last_failure_at": max(at, state.last_failure_at or at)}
            )
        if not stale and at - since >= down_after:
            minutes = int((at - since).total_seconds() // 60)
            name = _exchange_name(event.exchange)
            candidates.append(
                make(AlertRule.EXCHANGE_UNAVAILABLE, Severity.WARNING,
                     f"{name} unavailable for {minutes} minutes",
                     f"{name} has not been answering since {since:%Y-%m-%d %H:%M} UTC. Connection tests are "
                     "retried automatically; strategies on it are paused until it answers.",
                     event.exchange, since.isoformat())
            )
    elif code is not None and not should_retry(code):
        # The exchange answered (it judged the key): whatever outage there was is over.
        next_exch = _exchange_answered(event.exchange, exch, at)

    next_conn = None
    if _is_newer(at, conn):
        next_conn = ConnectionState(
            connection_id=event.connection_id,
            user_id=event.user_id,
            exchange=event.exchange,
            status="failed",
            as_of=at,
            name=conn.name if conn else None,
        )
    return Evaluation(candidates=tuple(candidates), connection=next_conn, exchange=next_exch)


def on_strategy_paused(notice: StrategyNotice) -> Evaluation:
    """A strategy stopped trading by itself (connection offline, margin limit, ...)."""
    if not notice.user_id:
        return Evaluation(notes=("strategy event without user_id: logged only",))
    name = f"'{notice.name}'" if notice.name else "A strategy"
    reason = notice.reason or "no reason given"
    return Evaluation(candidates=(_strategy_alert(notice, AlertRule.STRATEGY_PAUSED, Severity.WARNING,
                                                  f"{name} paused", f"Reason: {reason}. It resumes by itself "
                                                  "when the cause is gone, or you can disable it."),))


def on_lease_lost(notice: StrategyNotice) -> Evaluation:
    """A runner took over a strategy from one that stopped renewing its lease.

    Told to the strategy's owner (``user_id``) as information: nothing is asked of them, but
    the strategy went unwatched from the previous runner's last renewal until the takeover,
    and a trader wants to know that, and when. One alert per strategy and lost session (the
    event's message id), so a redelivery or a second runner's attempt never notifies twice.
    Runner names are infrastructure detail and stay out of the text.
    """
    if not notice.user_id:
        return Evaluation(notes=("lease event without user_id: logged only",))
    name = f"'{notice.name}'" if notice.name else "A strategy"
    same = notice.new_owner is not None and notice.new_owner == notice.previous_owner
    title = f"{name} resumed after its runner lost its lease" if same else f"{name} moved to another runner"
    taker = "The same runner took it back" if same else "Another runner took it over"
    when = ""
    if notice.lost_at is not None and notice.occurred_at is not None:
        when = f" The lease ran out at {_utc(notice.lost_at)} and the takeover came at {_utc(notice.occurred_at)}."
    text = (f"The runner trading it stopped renewing its lease (it crashed or lost its connection to the platform). "
            f"{taker} and continues from the saved state.{when} Orders already on the exchange stayed there and "
            "are checked again; no order is placed twice.")
    return Evaluation(candidates=(_strategy_alert(notice, AlertRule.LEASE_LOST, Severity.INFO, title, text),))


def _utc(at: datetime) -> str:
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return f"{aware.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _strategy_alert(notice: StrategyNotice, rule: AlertRule, severity: Severity, title: str, text: str) -> Alert:
    assert notice.user_id is not None and notice.message_id is not None and notice.occurred_at is not None
    return Alert(
        alert_id=alert_id(rule, notice.message_id, notice.user_id),
        rule=rule,
        severity=severity,
        user_id=notice.user_id,
        title=title,
        text=text,
        occurred_at=notice.occurred_at,
        source_event_id=notice.message_id,
        exchange=notice.exchange,
        connection_id=notice.connection_id,
        strategy_id=notice.strategy_id,
    )
