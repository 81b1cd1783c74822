"""Periodic re-test planning: slots spread connections, the budget caps each exchange."""

from __future__ import annotations

import collections
from datetime import timedelta

import pytest

from bf_tester.domain.budget import (
    POOLS,
    RatePool,
    TokenBucket,
    bucket_shape,
    max_connections_per_hour,
    retest_rate_per_s,
)
from bf_tester.domain.schedule import RetestEntry, next_due_at, plan_retests, slot_offset_s

from .fakes import T0, request

HOUR = 3600.0
SIX_HOURS = 6 * HOUR


def test_slot_offset_is_stable_and_inside_the_interval() -> None:
    assert slot_offset_s("conn-a", SIX_HOURS) == slot_offset_s("conn-a", SIX_HOURS)
    assert slot_offset_s("conn-a", SIX_HOURS) != slot_offset_s("conn-b", SIX_HOURS)
    assert all(0 <= slot_offset_s(f"c{i}", SIX_HOURS) < SIX_HOURS for i in range(1000))


def test_slots_spread_thousands_of_connections_evenly() -> None:
    # 6000 connections that all came Online in the same second, in 60 buckets of 6 minutes.
    buckets = collections.Counter(int(slot_offset_s(f"conn-{i}", SIX_HOURS) // 360) for i in range(6000))
    assert len(buckets) == 60
    assert max(buckets.values()) < 100 * 1.5 and min(buckets.values()) > 100 * 0.5


def test_next_due_is_on_the_slot_between_half_and_one_and_a_half_intervals() -> None:
    for i in range(200):
        cid = f"conn-{i}"
        due = next_due_at(cid, SIX_HOURS, T0)
        assert T0 + timedelta(seconds=SIX_HOURS / 2) < due <= T0 + timedelta(seconds=1.5 * SIX_HOURS)
        since_epoch = due.timestamp()
        assert (since_epoch - slot_offset_s(cid, SIX_HOURS)) % SIX_HOURS == pytest.approx(0, abs=1e-3) or (
            (since_epoch - slot_offset_s(cid, SIX_HOURS)) % SIX_HOURS == pytest.approx(SIX_HOURS, abs=1e-3)
        )


def test_a_connection_tested_on_its_slot_is_next_tested_one_interval_later() -> None:
    cid = "conn-x"
    first = next_due_at(cid, SIX_HOURS, T0)
    assert next_due_at(cid, SIX_HOURS, first) == first + timedelta(seconds=SIX_HOURS)


def test_rate_per_exchange_from_the_documented_limits() -> None:
    # MEXC: GET /api/v3/account weight 10 of 500 per 10 s binds; half is 25 tests per 10 s,
    # less the bucket's capacity (4: one 1 s tick of 2.5 tests, rounded up, plus one).
    assert bucket_shape("mexc", 0.5).capacity == 4
    assert retest_rate_per_s("mexc", 0.5) == pytest.approx((25 - 4) / 10)
    # KuCoin: the Management pool binds (user/api-key 20 + accounts 5 of 2000 per 30 s: 80
    # tests); half is 40 per 30 s, capacity 3.
    assert bucket_shape("kucoin", 0.5).capacity == 3
    assert retest_rate_per_s("kucoin", 0.5) == pytest.approx((40 - 3) / 30)
    # Unknown exchanges get a conservative trickle, never zero.
    assert 0 < retest_rate_per_s("binance", 0.5) <= 0.2


def test_max_connections_for_the_benchmark() -> None:
    assert max_connections_per_hour("mexc", SIX_HOURS, 0.5) == 45360  # 2.1/s * 21600 s
    assert max_connections_per_hour("kucoin", SIX_HOURS, 0.5) == 26640  # 1.2333/s * 21600 s
    # Halve the interval, halve the connections; double the budget, at least double them.
    assert max_connections_per_hour("mexc", 3 * HOUR, 0.5) == 22680
    assert max_connections_per_hour("mexc", SIX_HOURS, 1.0) >= 2 * 45360


@pytest.mark.parametrize("exchange", sorted(POOLS))
@pytest.mark.parametrize("fraction", [0.1, 0.5, 1.0])
def test_token_bucket_never_spends_more_than_the_fraction_of_any_pool_window(exchange: str, fraction: float) -> None:
    bucket = TokenBucket.for_exchange(exchange, fraction, now_s=0.0)
    taken_at: list[float] = []
    t = 0.0
    while t < 300.0:  # greedy: try every 10 ms for five minutes
        ok, bucket = bucket.take(t)
        if ok:
            taken_at.append(t)
        t = round(t + 0.01, 2)
    for pool in POOLS[exchange]:
        allowed = fraction * pool.limit / pool.test_weight
        window = pool.window_s
        worst = max(sum(1 for x in taken_at if start <= x < start + window) for start in taken_at)
        assert worst <= allowed + 1e-9, (pool.name, worst, allowed)
    # ... and the long-run rate is the budgeted one.
    assert len(taken_at) / 300.0 == pytest.approx(retest_rate_per_s(exchange, fraction), rel=0.05)


def test_token_bucket_wait() -> None:
    bucket = TokenBucket(rate_per_s=2.0, tokens=0.0, updated_at_s=0.0)
    assert bucket.wait_s(0.0) == pytest.approx(0.5)
    assert bucket.wait_s(1.0) == 0.0
    taken, _ = bucket.take(0.2)
    assert not taken


def entry(cid: str, exchange: str, due_in_s: float) -> RetestEntry:
    return RetestEntry(
        connection_id=cid,
        exchange=exchange,
        template=request(connection_id=cid, exchange=exchange),
        last_verdict_at=T0 - timedelta(hours=6),
        next_due_at=T0 + timedelta(seconds=due_in_s),
    )


def test_plan_runs_due_entries_oldest_first_within_each_exchange_budget() -> None:
    entries = [entry(f"m{i}", "mexc", -i) for i in range(5)] + [entry("k1", "kucoin", -1), entry("later", "mexc", 60)]
    buckets = {
        "mexc": TokenBucket(rate_per_s=1.0, tokens=1.0, updated_at_s=0.0),
        "kucoin": TokenBucket(rate_per_s=1.0, tokens=1.0, updated_at_s=0.0),
    }
    chosen, after = plan_retests(entries, buckets, now=T0, now_s=0.0)
    assert [e.connection_id for e in chosen] == ["m4", "k1"]  # one token each; m4 waited longest
    assert after["mexc"].tokens == pytest.approx(0.0)
    # Two seconds later the bucket allows one more (capacity 1): the next oldest.
    chosen, _ = plan_retests([e for e in entries if e.connection_id not in {"m4", "k1"}], after, now=T0, now_s=2.0)
    assert [e.connection_id for e in chosen] == ["m3"]


def test_plan_ignores_entries_not_due_and_exchanges_without_a_bucket() -> None:
    entries = [entry("later", "mexc", 1), entry("x", "binance", -5)]
    chosen, _ = plan_retests(entries, {"mexc": TokenBucket(rate_per_s=1.0)}, now=T0, now_s=0.0)
    assert chosen == []


def test_thousands_due_at_once_drain_at_the_budgeted_rate() -> None:
    entries = [entry(f"c{i}", "kucoin", -1) for i in range(2000)]
    buckets = {"kucoin": TokenBucket.for_exchange("kucoin", 0.5, 0.0)}
    remaining = {e.connection_id: e for e in entries}
    per_second = []
    for second in range(60):
        chosen, buckets = plan_retests(remaining.values(), buckets, now=T0, now_s=float(second))
        per_second.append(len(chosen))
        for e in chosen:
            del remaining[e.connection_id]
    window_limit = 0.5 * 2000 / 20  # half of the Management pool per 30 s, in tests
    assert max(sum(per_second[s : s + 30]) for s in range(31)) <= window_limit
    assert sum(per_second) >= 0.9 * retest_rate_per_s("kucoin", 0.5) * 60


def test_rate_pool_validation() -> None:
    with pytest.raises(ValueError):
        RatePool(name="x", limit=0, window_s=1, test_weight=1)
