"""The simulated markets: ten USDT spot pairs and their USDT-margined perpetuals.

One table of reference data, rendered into each exchange's own ids and field names.
Precisions and contract sizes are in the range the real venues use, not copies of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

QUOTE = "USDT"

D = Decimal


@dataclass(frozen=True)
class Asset:
    """One base currency and how it trades."""

    code: str
    name: str
    price: Decimal  # reference price in USDT (start of every price path)
    amount_decimals: int  # spot base-amount precision
    price_decimals: int  # spot price precision
    min_amount: Decimal  # spot minimum base amount
    contract_size: Decimal  # MEXC futures: base per contract
    kucoin_multiplier: Decimal  # KuCoin futures: base per lot
    futures_tick: Decimal
    max_leverage: int
    kucoin_futures_code: str | None = None  # KuCoin futures spell BTC as XBT

    @property
    def futures_code(self) -> str:
        """The base code in KuCoin futures ids."""
        return self.kucoin_futures_code or self.code


ASSETS: tuple[Asset, ...] = (
    Asset("BTC", "Bitcoin", D("65000"), 6, 2, D("0.00001"), D("0.0001"), D("0.001"), D("0.1"), 125, "XBT"),
    Asset("ETH", "Ethereum", D("3200"), 5, 2, D("0.0001"), D("0.01"), D("0.01"), D("0.01"), 100),
    Asset("SOL", "Solana", D("150"), 3, 3, D("0.001"), D("0.1"), D("0.1"), D("0.001"), 75),
    Asset("XRP", "XRP", D("0.55"), 2, 5, D("0.1"), D("1"), D("10"), D("0.0001"), 75),
    Asset("DOGE", "Dogecoin", D("0.15"), 2, 6, D("1"), D("100"), D("100"), D("0.00001"), 75),
    Asset("ADA", "Cardano", D("0.45"), 2, 5, D("0.1"), D("1"), D("10"), D("0.0001"), 75),
    Asset("LTC", "Litecoin", D("80"), 4, 2, D("0.001"), D("0.01"), D("0.1"), D("0.01"), 75),
    Asset("AVAX", "Avalanche", D("35"), 3, 3, D("0.01"), D("0.1"), D("0.1"), D("0.001"), 75),
    Asset("LINK", "Chainlink", D("15"), 3, 4, D("0.01"), D("0.1"), D("0.1"), D("0.001"), 75),
    Asset("TRX", "TRON", D("0.12"), 1, 5, D("1"), D("100"), D("100"), D("0.00001"), 75),
)
ASSET_BY_CODE: dict[str, Asset] = {a.code: a for a in ASSETS}

# Fees (fractions of notional); MEXC spot maker fee is 0.
MEXC_SPOT_MAKER, MEXC_SPOT_TAKER = D("0"), D("0.0005")
MEXC_SWAP_MAKER, MEXC_SWAP_TAKER = D("0"), D("0.0002")
KUCOIN_SPOT_MAKER, KUCOIN_SPOT_TAKER = D("0.001"), D("0.001")
KUCOIN_SWAP_MAKER, KUCOIN_SWAP_TAKER = D("0.0002"), D("0.0006")

PriceOf = Callable[[str], Decimal]


def fmt(value: Decimal) -> str:
    """Plain decimal text without exponent or trailing zeros."""
    text = format(value.normalize(), "f")
    return text


def step(decimals: int) -> Decimal:
    """``3`` -> ``0.001``."""
    return D(1).scaleb(-decimals)


def bid_ask(price: Decimal, tick: Decimal) -> tuple[Decimal, Decimal]:
    """The simulated top of book: one tick either side of the price."""
    return max(tick, price - tick), price + tick


def spot_tick(a: Asset) -> Decimal:
    """Spot price increment."""
    return step(a.price_decimals)


# -- ids ---------------------------------------------------------------------------------


def mexc_spot_id(a: Asset) -> str:
    """``BTCUSDT``."""
    return a.code + QUOTE


def mexc_contract_id(a: Asset) -> str:
    """``BTC_USDT``."""
    return f"{a.code}_{QUOTE}"


def kucoin_spot_id(a: Asset) -> str:
    """``BTC-USDT``."""
    return f"{a.code}-{QUOTE}"


def kucoin_futures_id(a: Asset) -> str:
    """``XBTUSDTM`` (USDT-margined perpetuals end in ``M``)."""
    return f"{a.futures_code}{QUOTE}M"


def find(id_fn: Callable[[Asset], str], market_id: str | None) -> Asset | None:
    """The asset whose id (per ``id_fn``) is ``market_id``."""
    for a in ASSETS:
        if id_fn(a) == market_id:
            return a
    return None


# -- MEXC --------------------------------------------------------------------------------


def mexc_exchange_info_symbols() -> list[dict[str, object]]:
    """``GET /api/v3/exchangeInfo`` ``symbols`` (https://www.mexc.com/api-docs/spot-v3/market-data-endpoints)."""
    out = []
    for a in ASSETS:
        out.append(
            {
                "symbol": mexc_spot_id(a),
                "status": "1",
                "baseAsset": a.code,
                "baseAssetPrecision": a.amount_decimals,
                "quoteAsset": QUOTE,
                "quotePrecision": a.price_decimals,
                "quoteAssetPrecision": a.price_decimals,
                "baseCommissionPrecision": a.amount_decimals,
                "quoteCommissionPrecision": a.price_decimals,
                "orderTypes": ["LIMIT", "MARKET", "LIMIT_MAKER"],
                "isSpotTradingAllowed": True,
                "isMarginTradingAllowed": False,
                "quoteAmountPrecision": "1",
                "baseSizePrecision": fmt(a.min_amount),
                "permissions": ["SPOT"],
                "filters": [],
                "maxQuoteAmount": "2000000",
                "makerCommission": fmt(MEXC_SPOT_MAKER),
                "takerCommission": fmt(MEXC_SPOT_TAKER),
                "quoteAmountPrecisionMarket": "1",
                "maxQuoteAmountMarket": "100000",
                "fullName": a.name,
                "tradeSideType": 1,
            }
        )
    return out


def mexc_capital_config() -> list[dict[str, object]]:
    """``GET /api/v3/capital/config/getall``: one network per coin, plus USDT."""
    out: list[dict[str, object]] = []
    for code, name in [(a.code, a.name) for a in ASSETS] + [(QUOTE, "Tether")]:
        out.append(
            {
                "coin": code,
                "name": name,
                "networkList": [
                    {
                        "coin": code,
                        "depositDesc": None,
                        "depositEnable": True,
                        "minConfirm": 12,
                        "name": name,
                        "network": "ERC20" if code == QUOTE else code,
                        "netWork": "ERC20" if code == QUOTE else code,
                        "withdrawEnable": True,
                        "withdrawFee": "1",
                        "withdrawIntegerMultiple": None,
                        "withdrawMax": "10000000",
                        "withdrawMin": "10",
                        "sameAddress": False,
                        "contract": "",
                        "withdrawTips": None,
                        "depositTips": None,
                    }
                ],
            }
        )
    return out


def mexc_contract_details() -> list[dict[str, object]]:
    """``GET /api/v1/contract/detail`` ``data`` (https://www.mexc.com/api-docs/futures/market-endpoints)."""
    out = []
    for a in ASSETS:
        out.append(
            {
                "symbol": mexc_contract_id(a),
                "displayName": f"{a.code}_{QUOTE} PERPETUAL",
                "displayNameEn": f"{a.code}_{QUOTE} PERPETUAL",
                "positionOpenType": 3,
                "baseCoin": a.code,
                "quoteCoin": QUOTE,
                "settleCoin": QUOTE,
                "contractSize": float(a.contract_size),
                "minLeverage": 1,
                "maxLeverage": a.max_leverage,
                "priceScale": max(0, -a.futures_tick.as_tuple().exponent),  # type: ignore[operator]
                "volScale": 0,
                "amountScale": 4,
                "priceUnit": float(a.futures_tick),
                "volUnit": 1,
                "minVol": 1,
                "maxVol": 1000000,
                "bidLimitPriceRate": 0.1,
                "askLimitPriceRate": 0.1,
                "takerFeeRate": float(MEXC_SWAP_TAKER),
                "makerFeeRate": float(MEXC_SWAP_MAKER),
                "maintenanceMarginRate": 0.004,
                "initialMarginRate": 0.008,
                "state": 0,
                "isNew": False,
                "isHot": a.code in ("BTC", "ETH"),
                "isHidden": False,
                "apiAllowed": True,
            }
        )
    return out


# -- KuCoin ------------------------------------------------------------------------------


def kucoin_currencies() -> list[dict[str, object]]:
    """``GET /api/v3/currencies`` (https://www.kucoin.com/docs-new/rest/spot-trading/market-data/get-all-currencies)."""
    out: list[dict[str, object]] = []
    for code, name, decimals in [(a.code, a.name, 8) for a in ASSETS] + [(QUOTE, "Tether", 8)]:
        out.append(
            {
                "currency": code,
                "name": code,
                "fullName": name,
                "precision": decimals,
                "confirms": None,
                "contractAddress": None,
                "isMarginEnabled": True,
                "isDebitEnabled": True,
                "chains": [
                    {
                        "chainName": "ERC20" if code == QUOTE else code,
                        "chainId": "eth" if code == QUOTE else code.lower(),
                        "withdrawalMinSize": "10",
                        "depositMinSize": None,
                        "withdrawFeeRate": "0",
                        "withdrawalMinFee": "1",
                        "isWithdrawEnabled": True,
                        "isDepositEnabled": True,
                        "confirms": 12,
                        "preConfirms": 12,
                        "contractAddress": "",
                        "withdrawPrecision": 8,
                        "maxWithdraw": None,
                        "maxDeposit": None,
                        "needTag": False,
                    }
                ],
            }
        )
    return out


def kucoin_symbols() -> list[dict[str, object]]:
    """``GET /api/v2/symbols`` (https://www.kucoin.com/docs-new/rest/spot-trading/market-data/get-all-symbols)."""
    out = []
    for a in ASSETS:
        out.append(
            {
                "symbol": kucoin_spot_id(a),
                "name": kucoin_spot_id(a),
                "baseCurrency": a.code,
                "quoteCurrency": QUOTE,
                "feeCurrency": QUOTE,
                "market": "USDS",
                "baseMinSize": fmt(a.min_amount),
                "quoteMinSize": "0.1",
                "baseMaxSize": "10000000000",
                "quoteMaxSize": "99999999",
                "baseIncrement": fmt(step(a.amount_decimals)),
                "quoteIncrement": "0.000001",
                "priceIncrement": fmt(step(a.price_decimals)),
                "priceLimitRate": "0.1",
                "minFunds": "0.1",
                "isMarginEnabled": True,
                "enableTrading": True,
                "feeCategory": 1,
                "makerFeeCoefficient": "1.00",
                "takerFeeCoefficient": "1.00",
                "st": False,
                "callauctionIsEnabled": False,
            }
        )
    return out


def kucoin_contracts(price_of: PriceOf, now_ms: int) -> list[dict[str, object]]:
    """``GET /api/v1/contracts/active`` (https://www.kucoin.com/docs-new/rest/futures-trading/market-data/get-all-symbols)."""
    out = []
    for a in ASSETS:
        price = float(price_of(a.code))
        out.append(
            {
                "symbol": kucoin_futures_id(a),
                "rootSymbol": QUOTE,
                "type": "FFWCSX",
                "firstOpenDate": 1585555200000,
                "expireDate": None,
                "settleDate": None,
                "baseCurrency": a.futures_code,
                "quoteCurrency": QUOTE,
                "settleCurrency": QUOTE,
                "maxOrderQty": 1000000,
                "maxPrice": 1000000.0,
                "lotSize": 1,
                "tickSize": float(a.futures_tick),
                "indexPriceTickSize": float(a.futures_tick),
                "multiplier": float(a.kucoin_multiplier),
                "initialMargin": round(1 / a.max_leverage, 4),
                "maintainMargin": round(1 / a.max_leverage / 2, 4),
                "maxRiskLimit": 100000,
                "minRiskLimit": 100000,
                "riskStep": 50000,
                "makerFeeRate": float(KUCOIN_SWAP_MAKER),
                "takerFeeRate": float(KUCOIN_SWAP_TAKER),
                "takerFixFee": 0.0,
                "makerFixFee": 0.0,
                "settlementFee": None,
                "isDeleverage": True,
                "isQuanto": False,
                "isInverse": False,
                "markMethod": "FairPrice",
                "fairMethod": "FundingRate",
                "fundingBaseSymbol": f".{a.futures_code}INT8H",
                "fundingQuoteSymbol": ".USDTINT8H",
                "fundingRateSymbol": f".{a.futures_code}USDTMFPI8H",
                "indexSymbol": f".K{a.futures_code}USDT",
                "settlementSymbol": "",
                "status": "Open",
                "fundingFeeRate": 0.0001,
                "predictedFundingFeeRate": 0.0001,
                "openInterest": "1000000",
                "turnoverOf24h": 1000000.0,
                "volumeOf24h": 1000.0,
                "markPrice": price,
                "indexPrice": price,
                "lastTradePrice": price,
                "nextFundingRateTime": 8 * 3600 * 1000 - now_ms % (8 * 3600 * 1000),
                "maxLeverage": a.max_leverage,
                "sourceExchanges": ["kucoin", "binance", "okex"],
                "lowPrice": price,
                "highPrice": price,
                "priceChgPct": 0.0,
                "priceChg": 0.0,
                "supportCross": True,
            }
        )
    return out
