"""Every text of the dashboard and of the API's test verdicts exists in English, French and
Bulgarian, with the same placeholders, and every key the page's scripts use is defined."""

from __future__ import annotations

import json
import re
import string
import typing
from pathlib import Path

import pytest

from bf_shared.codes import ErrorCode
from bf_shared.exchanges import EXCHANGES
from bf_shared.strategy import PRESETS, RecoveryExit
from bf_shared.strategy_messages import PauseReason, StrategyStatus
from bf_tester.domain.checks import CHECK_NAMES

from bf_gateway import i18n
from bf_gateway.i18n_checks import CHECKS
from bf_gateway.web.texts import locale_texts, page_catalogue

STATIC = Path(i18n.__file__).parent / "web" / "static"
LANGUAGES = ("en", "fr", "bg")
WARNING_CODES = ("no_ip_whitelist", "key_reused", "key_reused_elsewhere", "key_expiring")
# Words that are the same in every language (product names, market jargon, codes).
SAME_EVERYWHERE = {"market.spot", "check.status.ok", "progress.cause", "strat.status.failed"}
CYRILLIC = re.compile(r"[\u0400-\u04FF]")


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _js_sources() -> str:
    files = [*STATIC.glob("js/**/*.js"), STATIC / "index.html"]
    assert len(files) > 10
    return "\n".join(p.read_text(encoding="utf-8") for p in files)


# ----------------------------------------------------------------------------- the page's catalogue


@pytest.mark.parametrize("lang", ["fr", "bg"])
def test_every_page_key_exists_in_every_language(lang: str) -> None:
    english, other = page_catalogue("en"), page_catalogue(lang)
    assert sorted(set(english) - set(other)) == [], f"missing in {lang}"
    assert sorted(set(other) - set(english)) == [], f"unknown to English in {lang}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_page_text_is_empty_and_placeholders_match_english(lang: str) -> None:
    english, texts = page_catalogue("en"), page_catalogue(lang)
    for key, text in texts.items():
        assert text.strip(), f"{lang}:{key} is empty"
        assert _placeholders(text) == _placeholders(english[key]), f"{lang}:{key} placeholders differ"


@pytest.mark.parametrize("lang", ["fr", "bg"])
def test_translations_are_not_english_copies(lang: str) -> None:
    english, texts = page_catalogue("en"), page_catalogue(lang)
    copies = sorted(k for k, v in texts.items() if v == english[k] and k not in SAME_EVERYWHERE)
    # A handful of technical words are legitimately identical (e.g. "Futures" in French).
    assert len(copies) <= 8, f"{lang} texts identical to English: {copies}"


def test_bulgarian_is_written_in_cyrillic() -> None:
    texts = page_catalogue("bg")
    latin_only = sorted(k for k, v in texts.items() if not CYRILLIC.search(v) and k not in SAME_EVERYWHERE)
    assert latin_only == [], f"Bulgarian texts without a Cyrillic letter: {latin_only}"


def test_every_key_the_scripts_use_is_defined() -> None:
    source = _js_sources()
    literal = set(re.findall(r'\bt\("([a-z0-9_.]+)"', source))
    literal |= set(re.findall(r'data-i18n="([a-z0-9_.]+)"', source))
    literal |= {k for k in re.findall(r'"([a-z]+(?:\.[a-z0-9_]+)+)"', source) if k.split(".")[0] in {"strat", "perm"}}
    assert len(literal) > 120, "the scan must see the scripts' keys"
    # Keys built at run time, from values the API or the shared models define.
    built = {
        *(f"status.{s}" for s in ("online", "testing", "untested", "failed", "rejected", "awaiting", "retrying", "unknown")),
        *(f"check.status.{s}" for s in ("ok", "warning", "failed", "skipped", "pending")),
        *(f"error.title.{code.value}" for code in ErrorCode),
        *(f"warn.{code}" for code in WARNING_CODES),
        *(f"market.{m}" for info in EXCHANGES.values() for m in info.markets),
        *(f"where.{exchange}" for exchange in EXCHANGES),
        *(f"add.{f}" for info in EXCHANGES.values() for f in info.credential_fields),
        *(f"risk.{level}" for level in PRESETS),
        *(f"exit.{e}" for e in typing.get_args(RecoveryExit)),
        *(f"strat.status.{s}" for s in typing.get_args(StrategyStatus)),
        *(f"strat.reason.{r}" for r in typing.get_args(PauseReason)),
        *(f"title.{route}" for route in ("login", "register", "connections", "connections_new")),
        *(f"name.{s}" for s in ("main", "conservative", "moderate", "aggressive")),
        *(f"perm.{p}" for p in ("read", "trade", "withdraw", "futures", "ip")),
        *(f"sec.{p}.{part}" for p in ("never_withdraw", "separate_keys", "ip_restrict", "delete_old", "twofa") for part in ("title", "body")),
    }
    merged = locale_texts("en")
    assert merged is not None
    missing = sorted(k for k in literal | built if k not in merged)
    assert missing == []


def test_the_scripts_build_only_the_dynamic_keys_listed_here() -> None:
    # Guards the list above: a new t(`prefix.${...}`) in the scripts must be added to it.
    prefixes = set(re.findall(r"(?:\bt|has)\(`([a-z_.]+)\$\{", _js_sources()))
    assert prefixes <= {
        "status.", "check.status.", "check.", "error.title.", "warn.", "market.", "where.", "add.",
        "risk.", "exit.", "strat.status.", "strat.reason.", "title.", "name.", "perm.", "sec.", "apierror.",
    }, prefixes


# ----------------------------------------------------------------------------- the API's texts


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_error_and_warning_has_a_cause_and_remedy(lang: str) -> None:
    catalogue = i18n.CATALOGUES[lang]
    for code in [c.value for c in ErrorCode] + list(WARNING_CODES):
        assert code in catalogue, f"{lang}: no text for {code}"
        text = catalogue[code]
        assert text.cause.strip() and text.remedy.strip()
        english = i18n.CATALOGUES["en"][code]
        assert _placeholders(text.cause) | _placeholders(text.remedy) == _placeholders(english.cause) | _placeholders(english.remedy)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_check_the_tester_reports_has_a_label_and_outcomes(lang: str) -> None:
    assert set(CHECKS[lang]) == set(CHECK_NAMES)
    for name, text in CHECKS[lang].items():
        assert text.label.strip(), f"{lang}:{name}"
        assert set(text.outcomes()) == {"ok", "warning", "failed", "skipped"}
        assert all(line.strip() for line in text.outcomes().values())


def test_check_labels_fall_back_to_english_then_to_the_name() -> None:
    assert i18n.check_label("api_key", "fr") == "Clé API acceptée"
    assert i18n.check_label("api_key", "de") == "API key accepted"
    assert i18n.check_label("something_new", "bg") == "something_new"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_page_gets_the_check_texts_of_its_language(lang: str) -> None:
    texts = locale_texts(lang)
    assert texts is not None
    for name in CHECK_NAMES:
        assert texts[f"check.{name}"] == CHECKS[lang][name].label
        assert texts[f"check.{name}.failed"] == CHECKS[lang][name].failed
    assert locale_texts("de") is None


def test_page_catalogues_are_valid_json_objects_of_strings() -> None:
    for lang in LANGUAGES:
        data = json.loads((STATIC / "locales" / f"{lang}.json").read_text(encoding="utf-8"))
        assert isinstance(data, dict) and all(isinstance(v, str) for v in data.values())
