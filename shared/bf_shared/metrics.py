"""Bus metrics every service shares: events consumed, redelivered and failed per subject.

:class:`EventMetricsMiddleware` is a FastStream broker middleware; :func:`bf_shared.bus.make_broker`
installs it, so every subscriber of every service is counted without further wiring:

* ``bf_events_consumed_total{service, subject}`` — every message handed to a handler;
* ``bf_events_redelivered_total{service, subject}`` — JetStream deliveries after the first
  (``num_delivered > 1``): a crash, a NAK or an ack timeout happened before;
* ``bf_events_failed_total{service, subject}`` — the handler raised (the message is NAKed,
  rejected or retried; an explicit ``AckMessage``/``SkipMessage`` is not a failure);
* ``bf_event_handling_seconds{service, subject}`` — handler latency.

Labels are built only from a fixed vocabulary (:func:`subject_label`): a subject token that
is not a known word (a user id, a connection id, anything from a payload) becomes ``*``, so
no identifier, key or secret can ever reach a label, whatever a subject carries.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from faststream import BaseMiddleware
from faststream.exceptions import IgnoredException, NackMessage, RejectMessage
from prometheus_client import Counter, Histogram

from bf_shared import subjects
from bf_shared.exchanges import EXCHANGES

if TYPE_CHECKING:
    from faststream._internal.basic_types import AsyncFuncAny
    from faststream.message import StreamMessage

EVENTS_CONSUMED = Counter(
    "bf_events_consumed_total", "Messages handed to a handler", ["service", "subject"]
)
EVENTS_REDELIVERED = Counter(
    "bf_events_redelivered_total",
    "JetStream messages delivered more than once (num_delivered > 1)",
    ["service", "subject"],
)
EVENTS_FAILED = Counter(
    "bf_events_failed_total", "Messages whose handler raised", ["service", "subject"]
)
EVENT_HANDLING_SECONDS = Histogram(
    "bf_event_handling_seconds",
    "Handler latency per subject",
    ["service", "subject"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def _constant_tokens() -> set[str]:
    modules: list[Any] = [subjects]
    try:  # strategy subjects live beside their models; tolerate their absence
        from bf_shared import strategy_messages

        modules.append(strategy_messages)
    except ImportError:
        pass
    words: set[str] = set()
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, str) and value.startswith("bf."):
                words.update(t for t in value.split(".") if t not in {"*", ">"})
    return words


# Tokens that may appear in a label; everything else is data and becomes "*". Built on first
# use, not at import, so modules that import the bus can still add subject constants.
_VOCABULARY: set[str] = set()
_BASE_WORDS = {"bf", "evt", "cmd", "audit", "rpc", "md", "connector", "probe", "order", "_INBOX"}


def _vocabulary() -> set[str]:
    if not _VOCABULARY:
        from bf_shared.audit import AuditKind  # audit subjects end with a fixed kind

        kinds = {k.value for k in AuditKind}
        _VOCABULARY.update(_constant_tokens() | set(EXCHANGES) | _BASE_WORDS | kinds)
    return _VOCABULARY


def register_subject_tokens(*tokens: str) -> None:
    """Allow more fixed subject words in labels (e.g. a new event name or audit kind).

    Only code-defined constants belong here, never a value that came from a message.
    """
    _vocabulary().update(tokens)


def subject_label(subject: str) -> str:
    """``subject`` with every token outside the fixed vocabulary replaced by ``*``."""
    tokens = subject.split(".")
    if len(tokens) > 8:  # keep the label short and bounded whatever arrives
        tokens = tokens[:8] + [">"]
    words = _vocabulary()
    return ".".join(t if t in words or t == ">" else "*" for t in tokens)


def _num_delivered(raw: Any) -> int:
    # Only JetStream deliveries carry "$JS.ACK..." reply metadata; core messages count as first.
    reply = getattr(raw, "reply", None) or ""
    if not reply.startswith("$JS.ACK."):
        return 1
    try:
        return int(raw.metadata.num_delivered)
    except Exception:  # malformed metadata must never break consumption
        return 1


class EventMetricsMiddleware(BaseMiddleware):
    """Counts consumption per subject. Build one per service with :func:`event_metrics`."""

    service: str = "unknown"

    async def consume_scope(self, call_next: AsyncFuncAny, msg: StreamMessage[Any]) -> Any:
        raw = msg.raw_message
        if isinstance(raw, list | tuple):  # batch pull: label by the first message
            raw = raw[0] if raw else None
        subject = subject_label(getattr(raw, "subject", "") or "")
        labels = (self.service, subject)
        EVENTS_CONSUMED.labels(*labels).inc()
        if _num_delivered(raw) > 1:
            EVENTS_REDELIVERED.labels(*labels).inc()
        start = time.perf_counter()
        try:
            return await call_next(msg)
        except (NackMessage, RejectMessage):
            EVENTS_FAILED.labels(*labels).inc()
            raise
        except IgnoredException:  # AckMessage / SkipMessage: handled on purpose
            raise
        except Exception:
            EVENTS_FAILED.labels(*labels).inc()
            raise
        finally:
            EVENT_HANDLING_SECONDS.labels(*labels).observe(time.perf_counter() - start)


def event_metrics(service: str) -> type[EventMetricsMiddleware]:
    """A middleware class for ``NatsBroker(middlewares=[...])`` labelled with ``service``."""
    return type(f"EventMetrics_{service}", (EventMetricsMiddleware,), {"service": service})
