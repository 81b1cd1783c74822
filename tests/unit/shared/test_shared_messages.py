import pydantic
import pytest

from bf_shared.codes import RETRYABLE, TEXTS, ErrorCode, should_retry
from bf_shared.messages import ConnectionAdded, TestRequested, TestReason


def test_messages_are_frozen_and_reject_unknown_fields() -> None:
    msg = TestRequested(connection_id="c1", user_id="u1", exchange="mexc", markets=("spot",), reason=TestReason.ADDED)
    with pytest.raises(pydantic.ValidationError):
        msg.attempt = 2  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        TestRequested.model_validate({**msg.model_dump(), "secret": "x"})


def test_messages_round_trip_with_schema_version_and_unique_ids() -> None:
    a = ConnectionAdded(
        connection_id="c", user_id="u", exchange="kucoin", name="n", markets=("spot", "futures"),
        api_key_masked="abcd…wxyz", secret_version=1,
    )
    b = ConnectionAdded.model_validate_json(a.model_dump_json())
    assert a == b and a.schema_version == 1
    assert a.message_id != ConnectionAdded(**{**a.model_dump(), "message_id": "other"}).message_id


def test_every_code_has_cause_and_remedy_and_only_transient_codes_retry() -> None:
    assert set(TEXTS) == set(ErrorCode)
    assert all(cause and remedy for cause, remedy in TEXTS.values())
    assert RETRYABLE == {ErrorCode.EXCHANGE_UNAVAILABLE, ErrorCode.RATE_LIMITED, ErrorCode.CLOCK_SKEW}
    assert not should_retry(ErrorCode.WITHDRAW_ENABLED) and not should_retry(None)
