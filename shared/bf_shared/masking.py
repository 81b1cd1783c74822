"""How API keys are shown: never whole."""

from __future__ import annotations


def mask_api_key(api_key: str) -> str:
    """``mx0vglBxa1b2c3f2a`` -> ``mx0v…3f2a``; short keys show only their last two characters."""
    if len(api_key) >= 12:
        return f"{api_key[:4]}…{api_key[-4:]}"
    return f"…{api_key[-2:]}" if len(api_key) > 4 else "…"
