import pytest

from bf_shared.masking import mask_api_key


@pytest.mark.parametrize(
    ("key", "shown"),
    [("mx0vglBxa1b2c3d43f2a", "mx0v…3f2a"), ("abcdefghijkl", "abcd…ijkl"), ("abcdefg", "…fg"), ("abcd", "…")],
)
def test_api_keys_are_shown_masked(key: str, shown: str) -> None:
    assert mask_api_key(key) == shown


def test_mask_never_reveals_more_than_eight_characters() -> None:
    key = "K" * 64
    assert sum(c == "K" for c in mask_api_key(key)) == 8
