"""The interface texts the page loads, one catalogue per language.

Two sources, each text in exactly one: ``static/locales/<lang>.json`` holds the page's own
labels; :mod:`bf_gateway.i18n` holds what the API also speaks about (the test checks' labels
and one-line outcomes), exposed to the page as ``check.<name>`` and
``check.<name>.<status>``. English is complete; another language may miss a key, and the
page then falls back to English for that key alone.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from bf_gateway import i18n

LOCALES = Path(__file__).parent / "static" / "locales"


def page_catalogue(lang: str) -> dict[str, str]:
    """The page's own catalogue for ``lang`` (``static/locales/<lang>.json``)."""
    data: dict[str, str] = json.loads((LOCALES / f"{lang}.json").read_text(encoding="utf-8"))
    return data


@lru_cache(maxsize=len(i18n.SUPPORTED))
def _merged(lang: str) -> dict[str, str]:
    texts = page_catalogue(lang)
    for name, check in i18n.CHECKS.get(lang, {}).items():
        texts[f"check.{name}"] = check.label
        for status, outcome in check.outcomes().items():
            texts[f"check.{name}.{status}"] = outcome
    return texts


def locale_texts(lang: str) -> dict[str, str] | None:
    """Everything the page needs to speak ``lang``, or ``None`` for an unsupported language."""
    if lang not in i18n.SUPPORTED:
        return None
    return dict(_merged(lang))
