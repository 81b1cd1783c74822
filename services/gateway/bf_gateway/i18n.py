"""User-facing texts of test errors and warnings, in the request's language.

:func:`translate` gives ``(cause, remedy)`` for an error code (``bf_shared.codes.ErrorCode``)
or a warning code (``no_ip_whitelist``, ``key_reused``, ...). English comes from
``bf_shared.codes.TEXTS``; French and Bulgarian are catalogues below. A code missing from a
language falls back to English; a code unknown everywhere gives ``None`` and the caller
shows the text the tester sent. Templates may use ``{days_left}`` and ``{egress_ips}``.
"""

from __future__ import annotations

from typing import NamedTuple

from bf_shared.codes import TEXTS

# The test checks' labels and outcome lines live beside this module (same languages).
from bf_gateway.i18n_checks import CHECKS as CHECKS, CheckText as CheckText, check_label as check_label

SUPPORTED = ("en", "fr", "bg")
DEFAULT = "en"


class Text(NamedTuple):
    cause: str
    remedy: str


_WARNINGS_EN: dict[str, Text] = {
    "no_ip_whitelist": Text(
        "The key is not restricted to the platform's IP addresses.",
        "Add the platform's IPs to the key's whitelist: {egress_ips}.",
    ),
    "key_expiring": Text(
        "The key expires in {days_left} days.",
        "Bind the key to the platform's IPs (keys without a whitelist expire) or replace it before then.",
    ),
    "key_reused": Text(
        "This API key is also used by another of your connections.",
        "Use a separate key for each connection, so one cannot exhaust the other's limits.",
    ),
    "key_reused_elsewhere": Text(
        "This API key is already registered by another account on the platform.",
        "If you did not share this key on purpose, delete it on the exchange and create a new one.",
    ),
}

_FR: dict[str, Text] = {
    "invalid_key": Text(
        "La plateforme d'échange ne reconnaît pas cette clé API, ou le secret ne lui correspond pas.",
        "Copiez à nouveau la clé API et le secret depuis la plateforme d'échange, ou créez une nouvelle clé.",
    ),
    "invalid_passphrase": Text(
        "La phrase secrète (passphrase) de l'API est incorrecte.",
        "Saisissez à nouveau la phrase secrète choisie lors de la création de la clé sur KuCoin.",
    ),
    "no_read_permission": Text(
        "La clé ne peut pas lire les soldes, les ordres ni les positions.",
        "Activez la permission de lecture (General) sur la clé.",
    ),
    "no_trade_permission": Text(
        "La clé ne peut pas trader.",
        "Activez le trading sur la clé ; laissez le retrait désactivé.",
    ),
    "no_futures_permission": Text(
        "Les contrats à terme sont demandés, mais la clé n'a pas les droits futures.",
        "Activez le trading de futures sur la clé, ou retirez le marché futures de cette connexion.",
    ),
    "withdraw_enabled": Text(
        "La clé peut retirer des fonds. Pour votre sécurité, elle ne sera jamais utilisée.",
        "Supprimez cette clé sur la plateforme d'échange et créez-en une nouvelle avec le retrait désactivé.",
    ),
    "withdraw_unconfirmed": Text(
        "La plateforme d'échange n'indique pas si cette clé peut retirer des fonds.",
        "Vérifiez sur la plateforme d'échange que le retrait est désactivé pour cette clé, puis confirmez-le ici.",
    ),
    "ip_not_allowed": Text(
        "La plateforme d'échange refuse les requêtes venant de l'adresse IP de notre service.",
        "Ajoutez les adresses IP de nos serveurs à la liste blanche de la clé.",
    ),
    "exchange_unavailable": Text(
        "La plateforme d'échange est hors service, en maintenance ou ne répond pas.",
        "Rien à faire : le test est relancé automatiquement.",
    ),
    "rate_limited": Text(
        "La plateforme d'échange limite le nombre de requêtes.",
        "Rien à faire : le test est relancé automatiquement.",
    ),
    "clock_skew": Text(
        "La plateforme d'échange a refusé l'horodatage de la requête.",
        "Rien à faire : le test est relancé après la synchronisation des horloges.",
    ),
    "no_ip_whitelist": Text(
        "La clé n'est pas restreinte aux adresses IP de notre service.",
        "Ajoutez ces adresses IP à la liste blanche de la clé : {egress_ips}.",
    ),
    "key_expiring": Text(
        "La clé expire dans {days_left} jours.",
        "Associez la clé aux adresses IP de notre service (les clés sans liste blanche expirent) "
        "ou remplacez-la avant cette date.",
    ),
    "key_reused": Text(
        "Cette clé API est aussi utilisée par une autre de vos connexions.",
        "Utilisez une clé distincte par connexion, pour qu'aucune n'épuise les limites de l'autre.",
    ),
    "key_reused_elsewhere": Text(
        "Cette clé API est déjà enregistrée par un autre compte de notre service.",
        "Si vous n'avez pas partagé cette clé volontairement, supprimez-la sur la plateforme d'échange "
        "et créez-en une nouvelle.",
    ),
}

_BG: dict[str, Text] = {
    "invalid_key": Text(
        "Борсата не разпознава този API ключ или тайният ключ не съответства на него.",
        "Копирайте отново API ключа и тайния ключ от борсата или създайте нов ключ.",
    ),
    "invalid_passphrase": Text(
        "Паролата (passphrase) на API ключа е грешна.",
        "Въведете отново паролата, която избрахте при създаването на ключа в KuCoin.",
    ),
    "no_read_permission": Text(
        "Ключът не може да чете наличности, поръчки и позиции.",
        "Разрешете правото за четене (General) на ключа.",
    ),
    "no_trade_permission": Text(
        "Ключът не може да търгува.",
        "Разрешете търговията с ключа; тегленето да остане забранено.",
    ),
    "no_futures_permission": Text(
        "Избрани са фючърси, но ключът няма права за фючърси.",
        "Разрешете търговията с фючърси на ключа или премахнете пазара за фючърси от тази връзка.",
    ),
    "withdraw_enabled": Text(
        "Ключът може да тегли средства. За ваша сигурност той никога няма да бъде използван.",
        "Изтрийте този ключ в борсата и създайте нов със забранено теглене.",
    ),
    "withdraw_unconfirmed": Text(
        "Борсата не съобщава дали този ключ може да тегли средства.",
        "Проверете в борсата, че тегленето е забранено за този ключ, и го потвърдете тук.",
    ),
    "ip_not_allowed": Text(
        "Борсата отхвърля заявките от IP адреса на платформата.",
        "Добавете IP адресите на сървърите на платформата в белия списък на ключа.",
    ),
    "exchange_unavailable": Text(
        "Борсата не работи, е в профилактика или не отговаря.",
        "Не е нужно да правите нищо: тестът се повтаря автоматично.",
    ),
    "rate_limited": Text(
        "Борсата ограничава броя на заявките.",
        "Не е нужно да правите нищо: тестът се повтаря автоматично.",
    ),
    "clock_skew": Text(
        "Борсата отхвърли времевия печат на заявката.",
        "Не е нужно да правите нищо: тестът се повтаря след синхронизиране на часовниците.",
    ),
    "no_ip_whitelist": Text(
        "Ключът не е ограничен до IP адресите на платформата.",
        "Добавете тези IP адреси в белия списък на ключа: {egress_ips}.",
    ),
    "key_expiring": Text(
        "Ключът изтича след {days_left} дни.",
        "Обвържете ключа с IP адресите на платформата (ключове без бял списък изтичат) "
        "или го сменете преди това.",
    ),
    "key_reused": Text(
        "Този API ключ се използва и от друга ваша връзка.",
        "Използвайте отделен ключ за всяка връзка, за да не изчерпва едната лимитите на другата.",
    ),
    "key_reused_elsewhere": Text(
        "Този API ключ вече е регистриран от друг акаунт в платформата.",
        "Ако не сте споделили ключа умишлено, изтрийте го в борсата и създайте нов.",
    ),
}

CATALOGUES: dict[str, dict[str, Text]] = {
    "en": {**{str(code): Text(*texts) for code, texts in TEXTS.items()}, **_WARNINGS_EN},
    "fr": _FR,
    "bg": _BG,
}


class _Params(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def translate(code: str, lang: str, **params: object) -> Text | None:
    """``(cause, remedy)`` for ``code`` in ``lang`` (English fallback), templates filled from ``params``."""
    text = CATALOGUES.get(lang, {}).get(code) or CATALOGUES[DEFAULT].get(code)
    if text is None:
        return None
    values = _Params(
        {k: ", ".join(map(str, v)) if isinstance(v, list | tuple) else str(v) for k, v in params.items()}
    )
    return Text(text.cause.format_map(values), text.remedy.format_map(values))


def pick_language(accept_language: str | None) -> str:
    """The best supported language of an ``Accept-Language`` header (q-values honoured), else English."""
    best, best_q = DEFAULT, 0.0
    for item in (accept_language or "").split(","):
        tag, _, params = item.strip().partition(";")
        lang = tag.strip().lower().split("-")[0]
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        # Strictly greater: on equal q the earlier entry wins ("fr, en" means French).
        if lang in SUPPORTED and q > best_q:
            best, best_q = lang, q
    return best
