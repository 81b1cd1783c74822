"""Properties of ``judge`` over arbitrary probe replies (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bf_shared.codes import ErrorCode
from bf_shared.messages import (
    CheckStatus,
    KeyFacts,
    Permissions,
    ProbeError,
    ProbeName,
    ProbeOutcome,
    ProbeReply,
    TestRequested,
)

from bf_tester.domain.checks import CHECK_NAMES
from bf_tester.domain.verdict import judge

from .fakes import T0, request

TRI = st.sampled_from([True, False, None])
ERROR_CODES = [c.value for c in ErrorCode] + ["permission_denied", "not_supported", "unknown"]

probe_errors = st.builds(
    ProbeError,
    code=st.sampled_from(ERROR_CODES),
    exchange_code=st.none() | st.sampled_from(["700006", "400004", "10072"]),
    http_status=st.none() | st.sampled_from([400, 403, 429, 503]),
    retry_after_s=st.none() | st.floats(min_value=0.1, max_value=60),
)


@st.composite
def outcomes(draw: st.DrawFn) -> tuple[ProbeOutcome, ...]:
    names = draw(st.lists(st.sampled_from(list(ProbeName)), unique=True))
    out = []
    for name in names:
        if draw(st.booleans()):
            out.append(ProbeOutcome(name=name, ok=True))
        else:
            out.append(ProbeOutcome(name=name, ok=False, error=draw(st.none() | probe_errors)))
    return tuple(out)


@st.composite
def cases(draw: st.DrawFn) -> tuple[TestRequested, ProbeReply]:
    markets = draw(st.sampled_from([("spot",), ("futures",), ("spot", "futures")]))
    cmd = request(
        exchange=draw(st.sampled_from(["mexc", "kucoin"])),
        markets=markets,  # type: ignore[arg-type]
        attested=draw(st.booleans()),
        key_reused=draw(st.sampled_from(["none", "same_user", "other_user"])),
    )
    rep = ProbeReply(
        test_id=cmd.test_id,
        connection_id=cmd.connection_id,
        exchange=cmd.exchange,
        outcomes=draw(outcomes()),
        key=KeyFacts(
            permissions=Permissions(read=draw(TRI), trade=draw(TRI), withdraw=draw(TRI), futures=draw(TRI)),
            ip_restricted=draw(TRI),
            expires_in_days=draw(st.none() | st.integers(min_value=-5, max_value=400)),
            source=draw(st.sampled_from(["introspection", "inferred", "none"])),
        ),
        error=draw(st.none() | probe_errors),
    )
    return cmd, rep


def verdict(cmd: TestRequested, rep: ProbeReply):  # type: ignore[no-untyped-def]
    return judge(cmd, rep, started_at=T0, finished_at=T0, egress_ips=("203.0.113.7",), expiry_warning_days=14, now=T0)


@settings(max_examples=400, deadline=None, database=None)
@given(cases())
def test_a_withdraw_capable_or_unconfirmed_key_is_never_online(case: tuple[TestRequested, ProbeReply]) -> None:
    cmd, rep = case
    result = verdict(cmd, rep)
    reported = rep.key.permissions.withdraw
    if reported is True or (reported is None and not cmd.withdraw_attested):
        assert result.status == "failed"
    if result.status == "passed":
        assert result.permissions.withdraw is False or (result.permissions.withdraw is None and cmd.withdraw_attested)


@settings(max_examples=400, deadline=None, database=None)
@given(cases())
def test_online_exactly_when_no_error_and_no_check_failed(case: tuple[TestRequested, ProbeReply]) -> None:
    cmd, rep = case
    result = verdict(cmd, rep)
    assert [c.name for c in result.checks] == list(CHECK_NAMES)
    assert (result.status == "passed") == (result.error is None)
    if result.status == "passed":
        assert all(c.status != CheckStatus.FAILED for c in result.checks)
        # Online needs proof the exchange accepted the key.
        assert any(c.name == "api_key" and c.status == CheckStatus.OK for c in result.checks)
    else:
        assert any(c.status == CheckStatus.FAILED for c in result.checks)


@settings(max_examples=200, deadline=None, database=None)
@given(cases())
def test_needed_rights_that_are_refused_never_pass(case: tuple[TestRequested, ProbeReply]) -> None:
    cmd, rep = case
    result = verdict(cmd, rep)
    p = result.permissions
    if p.read is False or ("spot" in cmd.markets and p.trade is False) or ("futures" in cmd.markets and p.futures is False):
        assert result.status == "failed"
