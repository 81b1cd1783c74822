"""The checks of a connection test in the user's language: a label and one line per outcome.

The tester names the checks (``exchange_status``, ``api_key``, ``read``, ``trade``,
``withdraw_disabled``, ``futures``, ``ip_whitelist``) and words each one's ``detail`` in
English with its specifics (the exchange's error code, the IPs). These catalogues give the
label and a line for each status (``ok``, ``warning``, ``failed``, ``skipped``) in English,
French and Bulgarian; the dashboard shows them, and the cause, remedy and warnings, which
:mod:`bf_gateway.i18n` translates, carry the specifics. Re-exported by :mod:`bf_gateway.i18n`.
"""

from __future__ import annotations

from typing import NamedTuple


class CheckText(NamedTuple):
    label: str
    ok: str
    warning: str
    failed: str
    skipped: str

    def outcomes(self) -> dict[str, str]:
        """The line for each check status."""
        return {"ok": self.ok, "warning": self.warning, "failed": self.failed, "skipped": self.skipped}


_SKIPPED_EN = "Not checked: an earlier check stopped the test."
_UNCONFIRMED_EN = "The exchange did not confirm this permission."

_EN: dict[str, CheckText] = {
    "exchange_status": CheckText(
        "Exchange reachable",
        "The exchange answered.",
        "The exchange answered with a problem.",
        "The exchange is down, busy or rejected the request time; the test is retried automatically.",
        "Not checked.",
    ),
    "api_key": CheckText(
        "API key accepted",
        "The exchange accepts the key, secret and passphrase.",
        "The exchange accepted the key with a reservation.",
        "The exchange does not accept the key, secret or passphrase.",
        _SKIPPED_EN,
    ),
    "read": CheckText(
        "Read balances, orders and positions",
        "Balances can be read.",
        _UNCONFIRMED_EN,
        "The key cannot read balances.",
        _SKIPPED_EN,
    ),
    "trade": CheckText(
        "Trade",
        "The key can trade.",
        _UNCONFIRMED_EN,
        "The key cannot trade.",
        "Not checked: the spot market is not requested, or an earlier check stopped the test.",
    ),
    "withdraw_disabled": CheckText(
        "Withdrawal disabled",
        "The key cannot withdraw funds.",
        "The exchange does not tell whether the key can withdraw.",
        "The key can withdraw, or withdrawal is not confirmed as disabled: the key is not used.",
        _SKIPPED_EN,
    ),
    "futures": CheckText(
        "Futures rights",
        "The key has futures rights.",
        _UNCONFIRMED_EN,
        "The key has no futures rights.",
        "Not checked: the futures market is not requested, or an earlier check stopped the test.",
    ),
    "ip_whitelist": CheckText(
        "IP whitelist",
        "The key is restricted to whitelisted IPs.",
        "The key is not restricted to the platform's IPs (recommended).",
        "The exchange rejects the platform's IP.",
        _SKIPPED_EN,
    ),
}

_SKIPPED_FR = "Non vérifié : une vérification précédente a arrêté le test."
_UNCONFIRMED_FR = "La plateforme d'échange n'a pas confirmé cette permission."

_FR: dict[str, CheckText] = {
    "exchange_status": CheckText(
        "Plateforme d'échange joignable",
        "La plateforme d'échange a répondu.",
        "La plateforme d'échange a répondu avec un problème.",
        "La plateforme d'échange est hors service, saturée ou a refusé l'heure de la requête ; "
        "le test est relancé automatiquement.",
        "Non vérifié.",
    ),
    "api_key": CheckText(
        "Clé API acceptée",
        "La plateforme d'échange accepte la clé, le secret et la phrase secrète.",
        "La plateforme d'échange a accepté la clé avec une réserve.",
        "La plateforme d'échange n'accepte pas la clé, le secret ou la phrase secrète.",
        _SKIPPED_FR,
    ),
    "read": CheckText(
        "Lecture des soldes, ordres et positions",
        "Les soldes sont lisibles.",
        _UNCONFIRMED_FR,
        "La clé ne peut pas lire les soldes.",
        _SKIPPED_FR,
    ),
    "trade": CheckText(
        "Trading",
        "La clé peut trader.",
        _UNCONFIRMED_FR,
        "La clé ne peut pas trader.",
        "Non vérifié : le marché spot n'est pas demandé, ou une vérification précédente a arrêté le test.",
    ),
    "withdraw_disabled": CheckText(
        "Retrait désactivé",
        "La clé ne peut pas retirer de fonds.",
        "La plateforme d'échange n'indique pas si la clé peut retirer des fonds.",
        "La clé peut retirer des fonds, ou le retrait n'est pas confirmé comme désactivé : la clé n'est pas utilisée.",
        _SKIPPED_FR,
    ),
    "futures": CheckText(
        "Droits sur les futures",
        "La clé a les droits futures.",
        _UNCONFIRMED_FR,
        "La clé n'a pas les droits futures.",
        "Non vérifié : le marché futures n'est pas demandé, ou une vérification précédente a arrêté le test.",
    ),
    "ip_whitelist": CheckText(
        "Liste blanche d'IP",
        "La clé est limitée aux adresses IP autorisées.",
        "La clé n'est pas limitée aux adresses IP de nos serveurs (recommandé).",
        "La plateforme d'échange refuse l'adresse IP de nos serveurs.",
        _SKIPPED_FR,
    ),
}

_SKIPPED_BG = "Не е проверено: предишна проверка спря теста."
_UNCONFIRMED_BG = "Борсата не потвърди това право."

_BG: dict[str, CheckText] = {
    "exchange_status": CheckText(
        "Борсата е достъпна",
        "Борсата отговори.",
        "Борсата отговори с проблем.",
        "Борсата не работи, е претоварена или отхвърли времето на заявката; тестът се повтаря автоматично.",
        "Не е проверено.",
    ),
    "api_key": CheckText(
        "API ключът е приет",
        "Борсата приема ключа, тайния ключ и паролата.",
        "Борсата прие ключа с резерва.",
        "Борсата не приема ключа, тайния ключ или паролата.",
        _SKIPPED_BG,
    ),
    "read": CheckText(
        "Четене на наличности, поръчки и позиции",
        "Наличностите могат да се четат.",
        _UNCONFIRMED_BG,
        "Ключът не може да чете наличности.",
        _SKIPPED_BG,
    ),
    "trade": CheckText(
        "Търговия",
        "Ключът може да търгува.",
        _UNCONFIRMED_BG,
        "Ключът не може да търгува.",
        "Не е проверено: спот пазарът не е избран или предишна проверка спря теста.",
    ),
    "withdraw_disabled": CheckText(
        "Тегленето е забранено",
        "Ключът не може да тегли средства.",
        "Борсата не съобщава дали ключът може да тегли средства.",
        "Ключът може да тегли или не е потвърдено, че тегленето е забранено: ключът не се използва.",
        _SKIPPED_BG,
    ),
    "futures": CheckText(
        "Права за фючърси",
        "Ключът има права за фючърси.",
        _UNCONFIRMED_BG,
        "Ключът няма права за фючърси.",
        "Не е проверено: пазарът за фючърси не е избран или предишна проверка спря теста.",
    ),
    "ip_whitelist": CheckText(
        "Бял списък с IP адреси",
        "Ключът е ограничен до разрешени IP адреси.",
        "Ключът не е ограничен до IP адресите на платформата (препоръчително).",
        "Борсата отхвърля IP адреса на платформата.",
        _SKIPPED_BG,
    ),
}

#: Check texts by language, then by check name.
CHECKS: dict[str, dict[str, CheckText]] = {"en": _EN, "fr": _FR, "bg": _BG}


def check_label(name: str, lang: str) -> str:
    """The label of check ``name`` in ``lang`` (English fallback; an unknown check keeps its name)."""
    text = CHECKS.get(lang, {}).get(name) or _EN.get(name)
    return text.label if text is not None else name
