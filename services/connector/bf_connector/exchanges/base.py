"""Everything that touches ccxt: building clients, redirecting URLs, and the one call boundary.

* :func:`build_client` makes an async ccxt client for one connection's credentials, with a
  small hook (:class:`_ResponseHook`) that attaches the raw HTTP answer to any exception ccxt
  raises, so :mod:`bf_connector.errors` can classify on the exchange's own code.
* :func:`override_urls` sends every REST host of ``urls['api']`` to one origin
  (``BACKFUTURE_EXCHANGE_URL_<EXCHANGE>``), paths unchanged.
* :class:`VenueSession` holds the clients of one (connection, secret version) and exposes
  :meth:`VenueSession.call`, the only way code outside this module reaches ccxt.
* :class:`Venue` is what an exchange file implements: its quirks and its probes.

Concerns are split by file: the probe runner is ``runner.py``, the client cache
``clients.py``; order placement will be ``orders.py`` on top of :class:`VenueSession`.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

import ccxt.async_support as ccxt_async

from bf_shared.codes import ErrorCode
from bf_shared.messages import Frozen, Market, ProbeError
from bf_shared.vault import Credentials

from bf_connector.clock import Clock
from bf_connector.domain.facts import PermissionReport
from bf_connector.errors import RAW_ATTR, ExchangeError, RawResponse, translate
from bf_connector.metrics import ConnectorMetrics

log = logging.getLogger(__name__)

T = TypeVar("T")


class Capabilities(Frozen):
    """What a venue can tell or do, declared once per exchange file."""

    futures: bool
    #: Whether a permission endpoint exists: "confirmed" (documented by the exchange),
    #: "unconfirmed" (used, with a fallback when it does not answer), or "none".
    introspection: Literal["confirmed", "unconfirmed", "none"]
    #: A spot test-order endpoint exists (the trade probe runs only then).
    spot_test_order: bool
    #: A futures test-order endpoint exists (evidence for the futures right).
    futures_test_order: bool


class ClientOptions(Frozen):
    """How clients are built; one value per connector process."""

    enable_rate_limit: bool = True
    timeout_s: float = 8.0
    origin: str | None = None


# ----------------------------------------------------------------------------- ccxt hook


class _ResponseHook:
    """Mixed in front of a ccxt exchange class: sees every HTTP answer before ccxt judges it.

    ccxt raises on the exchange's code (``handle_errors``) and then on the HTTP status
    (``handle_http_status_code``, which gets no headers). Both run here so whichever raises
    carries the :class:`RawResponse` — status, path (no query: no signature), headers and
    body — and concurrent calls on one client never read each other's ``last_*`` fields.
    """

    bf_observe: Callable[[RawResponse], None] | None = None

    def handle_errors(  # noqa: PLR0913 - ccxt's signature
        self,
        code: int,
        reason: str,
        url: str,
        method: str,
        headers: Mapping[str, str] | None,
        body: str | None,
        response: Any,
        request_headers: Any,
        request_body: Any,
    ) -> None:
        raw = RawResponse(
            status=int(code or 0), path=urlsplit(url).path, body=body or "", headers=dict(headers or {})
        )
        if self.bf_observe is not None:
            self.bf_observe(raw)
        try:
            super().handle_errors(  # type: ignore[misc]
                code, reason, url, method, headers, body, response, request_headers, request_body
            )
            if raw.status >= 400:
                self.handle_http_status_code(code, reason, url, method, body)  # type: ignore[attr-defined]
        except Exception as e:
            setattr(e, RAW_ATTR, raw)
            raise


_HOOKED: dict[type[ccxt_async.Exchange], type[ccxt_async.Exchange]] = {}


def hooked(cls: type[ccxt_async.Exchange]) -> type[ccxt_async.Exchange]:
    """``cls`` with :class:`_ResponseHook` in front (one subclass per ccxt class)."""
    if cls not in _HOOKED:
        _HOOKED[cls] = type(f"Hooked{cls.__name__}", (_ResponseHook, cls), {})
    return _HOOKED[cls]


def override_urls(api: Any, origin: str) -> Any:
    """``api`` (ccxt ``urls['api']``, nested or flat) with every http(s) URL moved to ``origin``.

    Only scheme and host:port change; each URL's own path is kept and appended to any path
    ``origin`` has (``http://sim/mexc`` + ``/api/v1/private``). Non-HTTP values (websocket
    URLs) are left alone.
    """
    target = urlsplit(origin)
    if isinstance(api, Mapping):
        return {key: override_urls(value, origin) for key, value in api.items()}
    if isinstance(api, str):
        parts = urlsplit(api)
        if parts.scheme in ("http", "https"):
            path = target.path.rstrip("/") + parts.path
            return urlunsplit((target.scheme, target.netloc, path, parts.query, parts.fragment))
    return api


def build_client(
    cls: type[ccxt_async.Exchange],
    credentials: Credentials,
    options: ClientOptions,
    *,
    ccxt_options: Mapping[str, Any] | None = None,
    observe: Callable[[RawResponse], None] | None = None,
) -> ccxt_async.Exchange:
    """An async ccxt client of class ``cls`` for one set of credentials."""
    config: dict[str, Any] = {
        "apiKey": credentials.api_key.get_secret_value(),
        "secret": credentials.secret.get_secret_value(),
        "enableRateLimit": options.enable_rate_limit,
        "timeout": int(options.timeout_s * 1000),
        "options": dict(ccxt_options or {}),
    }
    if credentials.passphrase is not None:
        config["password"] = credentials.passphrase.get_secret_value()
    client = hooked(cls)(config)
    client.bf_observe = observe
    if options.origin:
        client.urls = {**client.urls, "api": override_urls(client.urls["api"], options.origin)}
    return client


# ----------------------------------------------------------------------------- session


class VenueSession:
    """The ccxt clients of one (connection, secret version), and the call boundary.

    The futures client is created on first use, only for venues whose futures API is a
    separate ccxt class. :meth:`close` closes every client; the cache calls it on eviction.
    """

    def __init__(
        self,
        venue: Venue,
        credentials: Credentials,
        options: ClientOptions,
        metrics: ConnectorMetrics,
        clock: Clock,
    ) -> None:
        self.venue = venue
        self._credentials = credentials
        self._options = options
        self._metrics = metrics
        self._clock = clock
        self._spot = self._build(venue.spot_class)
        self._futures: ccxt_async.Exchange | None = None

    def _build(self, cls: type[ccxt_async.Exchange]) -> ccxt_async.Exchange:
        return build_client(
            cls,
            self._credentials,
            self._options,
            ccxt_options=self.venue.ccxt_options,
            observe=self._observe,
        )

    def _observe(self, raw: RawResponse) -> None:
        headroom = self.venue.rate_limit_headroom(raw)
        if headroom is not None:
            self._metrics.rate_limit_headroom.labels(self.venue.id).set(headroom)

    @property
    def secret_version(self) -> int | None:
        """The Vault version of the key this session signs with (None: not known)."""
        return self._credentials.version

    def client(self, *, futures: bool = False) -> ccxt_async.Exchange:
        """The ccxt client for spot or futures calls (for this module and ``orders.py`` only)."""
        if futures and self.venue.futures_class is not None:
            if self._futures is None:
                self._futures = self._build(self.venue.futures_class)
            return self._futures
        return self._spot

    def _secrets(self) -> tuple[str, ...]:
        c = self._credentials
        values = [c.api_key.get_secret_value(), c.secret.get_secret_value()]
        if c.passphrase is not None:
            values.append(c.passphrase.get_secret_value())
        return tuple(values)

    async def call(self, method: str, params: Mapping[str, Any] | None = None, *, futures: bool = False) -> Any:
        """Call a ccxt method (implicit like ``spotPrivateGetAccount`` or unified like ``fetch_status``).

        Any failure leaves as :class:`ExchangeError`, translated here and nowhere else.
        ``method`` is a name from the venue's code, so it is also a safe metric label.
        """
        fn = getattr(self.client(futures=futures), method)
        started = self._clock.monotonic()
        outcome = "ok"
        try:
            return await fn(dict(params or {}))
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except Exception as e:
            classify = self.venue.classify_raw_with(self._clock, self._secrets())
            error = translate(e, classify, exchange_id=self.venue.id)
            outcome = str(error.error.code)
            if error.error.code == "unknown" and getattr(e, RAW_ATTR, None) is None:
                # Not an exchange answer: keep the type for diagnosis; redaction guards the text.
                log.warning("unexpected error from %s %s: %s", self.venue.id, method, type(e).__name__)
            raise error from e
        finally:
            self._metrics.observe_request(self.venue.id, method, outcome, self._clock.monotonic() - started)

    async def close(self) -> None:
        """Close every client (their HTTP sessions)."""
        for client in (self._spot, self._futures):
            if client is not None:
                try:
                    await client.close()
                except Exception:  # closing must never fail an eviction
                    log.warning("closing a %s client failed", self.venue.id)


class RunContext:
    """What one probe run shares: the session, the wanted markets and de-duplicated calls.

    :meth:`once` lets concurrent probes that need the same answer (MEXC's account is both the
    credentials check and the balance read) share one request. A probe that times out stops
    waiting, but the shared call keeps going for the others; :meth:`aclose` cancels leftovers.
    """

    def __init__(self, session: VenueSession, markets: tuple[Market, ...], new_id: Callable[[], str]) -> None:
        self.session = session
        self.markets = markets
        self.new_id = new_id
        self._shared: dict[str, asyncio.Task[Any]] = {}

    async def call(self, method: str, params: Mapping[str, Any] | None = None, *, futures: bool = False) -> Any:
        """:meth:`VenueSession.call`."""
        return await self.session.call(method, params, futures=futures)

    async def once(self, key: str, make: Callable[[], Awaitable[T]]) -> T:
        """Run ``make()`` once per run under ``key``; every caller gets its result or error."""
        task = self._shared.get(key)
        if task is None:
            task = asyncio.ensure_future(make())
            self._shared[key] = task
        return await asyncio.shield(task)

    async def aclose(self) -> None:
        """Cancel shared calls nobody waits for any more."""
        pending = [t for t in self._shared.values() if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        for task in self._shared.values():
            if task.done() and not task.cancelled():
                task.exception()  # mark retrieved: no "exception was never retrieved" noise


# ----------------------------------------------------------------------------- venue


class Venue(ABC):
    """One exchange's quirks: its clients, error table, and how each probe is done there.

    Probes raise :class:`ExchangeError` on failure and return quietly on success; the runner
    times them and turns them into outcomes.
    """

    id: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    spot_class: ClassVar[type[ccxt_async.Exchange]]
    futures_class: ClassVar[type[ccxt_async.Exchange] | None] = None
    ccxt_options: ClassVar[Mapping[str, Any]] = {}

    # -- errors

    @abstractmethod
    def classify(self, raw: RawResponse, *, now: float, secrets: tuple[str, ...]) -> ProbeError:
        """Classify a failed answer on this exchange's own code (see ``errors.classify_response``)."""

    def classify_raw_with(self, clock: Clock, secrets: tuple[str, ...]) -> Callable[[RawResponse], ProbeError]:
        """:meth:`classify` bound to the current time and the call's secrets."""
        return lambda raw: self.classify(raw, now=clock.time(), secrets=secrets)

    def rate_limit_headroom(self, raw: RawResponse) -> float | None:
        """Fraction of the rate-limit quota left, when the exchange's headers say (else None)."""
        return None

    # -- probes

    @abstractmethod
    async def exchange_status(self, ctx: RunContext) -> None:
        """Public: the exchange (each wanted market) is reachable and not in maintenance."""

    @abstractmethod
    async def signed_check(self, ctx: RunContext) -> None:
        """A signed call any valid key may make."""

    async def credentials(self, ctx: RunContext) -> None:
        """The exchange accepts key, secret (and passphrase) from our IP at our clock.

        "Permission denied" counts as accepted: the exchange authenticated the key before it
        refused the endpoint, so a read-less key is still a valid key here.
        """
        try:
            await self.signed_check(ctx)
        except ExchangeError as e:
            if e.error.code != "permission_denied":
                raise

    @abstractmethod
    async def read_balance(self, ctx: RunContext) -> None:
        """The spot balance can be read."""

    @abstractmethod
    async def permissions(self, ctx: RunContext) -> PermissionReport:
        """What the exchange says the key may do."""

    @abstractmethod
    async def trade(self, ctx: RunContext) -> None:
        """A spot test order is accepted (validated, never matched)."""

    @abstractmethod
    async def futures_balance(self, ctx: RunContext) -> None:
        """The futures account can be read."""

    async def futures_trade(self, ctx: RunContext) -> bool | None:
        """A futures test order: ``True`` accepted, ``False`` refused, ``None`` cannot tell.

        Default: the venue has no futures test endpoint, so it cannot tell.
        """
        return None


def unavailable(detail: str) -> ExchangeError:
    """The exchange answered but says it is not open for business (status endpoint)."""
    return ExchangeError.of(ErrorCode.EXCHANGE_UNAVAILABLE, detail)
