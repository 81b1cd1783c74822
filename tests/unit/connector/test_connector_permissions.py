"""Permission mapping: native permission strings -> facts, and the rules that keep weak
evidence from becoming a false "safe"."""

from __future__ import annotations

from typing import Any

import pytest

from bf_shared.messages import Permissions, ProbeError

from bf_connector.domain.facts import (
    AccountHints,
    Evidence,
    Introspection,
    PermissionReport,
    derive_key_facts,
    evidence_of,
)
from bf_connector.exchanges import kucoin, mexc


def _kucoin(permission: str, whitelist: str = "") -> Introspection | None:
    return kucoin.introspection({"code": "200000", "data": {"permission": permission, "ipWhitelist": whitelist}})


@pytest.mark.parametrize(
    ("permission", "read", "trade", "withdraw", "futures"),
    [
        ("General", True, False, False, False),
        ("General,Spot", True, True, False, False),
        ("General,Spot,Futures", True, True, False, True),
        ("General,Spot,Futures,Transfer", True, True, True, True),
        ("General,Spot,InnerTransfer", True, True, False, False),  # moving between own accounts
        ("General,Spot,Margin,Earn,FlexTransfers", True, True, False, False),
        ("Spot", False, True, False, False),
        (" general , spot ,futures", True, True, False, True),
        ("", False, False, False, False),
    ],
)
def test_kucoin_permission_list(permission: str, read: bool, trade: bool, withdraw: bool, futures: bool) -> None:
    assert _kucoin(permission) == Introspection(
        read=read, trade=trade, withdraw=withdraw, futures=futures, ip_restricted=False
    )


@pytest.mark.parametrize(("whitelist", "restricted"), [("", False), ("  ", False), ("1.2.3.4", True), ("1.2.*.*,5.6.7.8", True)])
def test_kucoin_ip_whitelist(whitelist: str, restricted: bool) -> None:
    facts = _kucoin("General", whitelist)
    assert facts is not None and facts.ip_restricted is restricted


def test_kucoin_answer_without_permission_list_is_not_introspection() -> None:
    assert kucoin.introspection({"code": "200000", "data": {"apiKey": "x"}}) is None
    assert kucoin.introspection({"code": "200000", "data": None}) is None


@pytest.mark.parametrize(
    ("permissions", "read", "trade", "withdraw", "futures"),
    [
        ("SPOT_ACCOUNT_READ", True, False, False, False),
        ("SPOT_ACCOUNT_READ,SPOT_DEAL_READ,SPOT_DEAL_WRITE", True, True, False, False),
        ("SPOT_ACCOUNT_READ,SPOT_DEAL_WRITE,SPOT_WITHDRAW_READ", True, True, False, False),  # history only
        ("SPOT_ACCOUNT_READ,SPOT_DEAL_WRITE,SPOT_WITHDRAW_WRITE", True, True, True, False),
        ("SPOT_ACCOUNT_READ,SPOT_TRANSFER_WRITE", True, False, False, False),  # internal transfer
        ("SPOT_ACCOUNT_READ,CONTRACT_ACCOUNT_READ,CONTRACT_DEAL_READ", True, False, False, False),
        ("SPOT_ACCOUNT_READ,CONTRACT_ACCOUNT_READ,CONTRACT_DEAL_WRITE", True, False, False, True),
        (["SPOT_ACCOUNT_READ", "SPOT_DEAL_WRITE"], True, True, False, False),
        ("", False, False, False, False),
    ],
)
def test_mexc_permission_list(permissions: Any, read: bool, trade: bool, withdraw: bool, futures: bool) -> None:
    facts = mexc.introspection({"permissions": permissions, "ipWhiteList": ""})
    assert facts == Introspection(read=read, trade=trade, withdraw=withdraw, futures=futures, ip_restricted=False)


@pytest.mark.parametrize(
    ("info", "restricted", "days"),
    [
        ({"permissions": "SPOT_ACCOUNT_READ", "ipWhiteList": "1.2.3.4", "remainingValidity": None}, True, None),
        ({"permissions": "SPOT_ACCOUNT_READ", "ipWhiteList": "", "remainingValidity": 87}, False, 87),
        ({"permissions": "SPOT_ACCOUNT_READ", "ipWhiteList": "", "remainingValidity": "12"}, False, 12),
        ({"permissions": "SPOT_ACCOUNT_READ", "ipWhiteList": "", "remainingValidity": -3}, False, 0),
        ({"permissions": "SPOT_ACCOUNT_READ"}, None, None),
        ({"data": {"permissions": "SPOT_ACCOUNT_READ", "ipWhiteList": ["1.2.3.4"]}}, True, None),
    ],
)
def test_mexc_ip_whitelist_and_remaining_validity(info: dict[str, Any], restricted: bool | None, days: int | None) -> None:
    facts = mexc.introspection(info)
    assert facts is not None
    assert (facts.ip_restricted, facts.expires_in_days) == (restricted, days)


def test_mexc_api_key_info_without_permissions_is_not_introspection() -> None:
    assert mexc.introspection({"code": 0, "msg": "ok"}) is None


@pytest.mark.parametrize(
    ("account", "can_trade", "can_withdraw"),
    [
        ({"canTrade": True, "canWithdraw": True}, None, None),  # account-level true proves nothing
        ({"canTrade": True, "canWithdraw": False}, None, False),
        ({"canTrade": False, "canWithdraw": False}, False, False),
        ({}, None, None),
    ],
)
def test_mexc_account_flags_can_only_deny(account: dict[str, Any], can_trade: bool | None, can_withdraw: bool | None) -> None:
    assert mexc.account_hints(account) == AccountHints(can_trade=can_trade, can_withdraw=can_withdraw)


def test_mexc_fallback_with_can_withdraw_true_leaves_withdraw_unknown() -> None:
    facts = derive_key_facts(
        PermissionReport(hints=mexc.account_hints({"canTrade": True, "canWithdraw": True})),
        Evidence(read=True, trade=True),
    )
    assert facts.permissions == Permissions(read=True, trade=True, withdraw=None, futures=None)
    assert facts.source == "inferred"


def test_mexc_fallback_with_can_withdraw_false_says_no_withdrawal() -> None:
    facts = derive_key_facts(PermissionReport(hints=mexc.account_hints({"canWithdraw": False})), Evidence(read=True))
    assert facts.permissions.withdraw is False


# ----------------------------------------------------------------------------- combination rules


def test_introspection_is_reported_as_is() -> None:
    intro = Introspection(read=True, trade=True, withdraw=True, futures=False, ip_restricted=True, expires_in_days=30)
    facts = derive_key_facts(PermissionReport(introspection=intro), Evidence())
    assert facts.permissions == Permissions(read=True, trade=True, withdraw=True, futures=False)
    assert (facts.ip_restricted, facts.expires_in_days, facts.source) == (True, 30, "introspection")


def test_a_refusal_beats_introspection() -> None:
    intro = Introspection(read=True, trade=True, withdraw=False, futures=True)
    facts = derive_key_facts(
        PermissionReport(introspection=intro), Evidence(read=False, trade=False, futures_read=False)
    )
    assert facts.permissions == Permissions(read=False, trade=False, withdraw=False, futures=False)


def test_introspection_beats_a_test_order_that_was_accepted() -> None:
    # Test endpoints may not check trade rights (UNCONFIRMED): introspection's "no" stands.
    facts = derive_key_facts(
        PermissionReport(introspection=Introspection(trade=False)), Evidence(trade=True)
    )
    assert facts.permissions.trade is False


def test_a_readable_futures_balance_is_not_a_futures_right() -> None:
    facts = derive_key_facts(PermissionReport(), Evidence(read=True, futures_read=True))
    assert facts.permissions.futures is None


def test_an_accepted_futures_test_order_is_a_futures_right_without_introspection() -> None:
    facts = derive_key_facts(None, Evidence(futures_read=True, futures_trade=True))
    assert facts.permissions.futures is True


def test_withdraw_is_never_inferred_true() -> None:
    facts = derive_key_facts(PermissionReport(), Evidence(read=True, trade=True, futures_read=True, futures_trade=True))
    assert facts.permissions.withdraw is None


def test_no_evidence_at_all() -> None:
    facts = derive_key_facts(None, Evidence())
    assert facts.permissions == Permissions()
    assert facts.source == "none"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (None, True),
        (ProbeError(code="permission_denied"), False),
        (ProbeError(code="invalid_key"), None),
        (ProbeError(code="exchange_unavailable"), None),
        (ProbeError(code="unknown"), None),
    ],
)
def test_evidence_of_a_call(error: ProbeError | None, expected: bool | None) -> None:
    assert evidence_of(error) is expected
