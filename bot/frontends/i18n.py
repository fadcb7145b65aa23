"""Which language to answer in, and the gettext catalogs that say it.

Every user-facing string of the front ends is a gettext message id (English); the catalogs
are ``bot/locales/<locale>/LC_MESSAGES/quotebot.po`` for `LOCALES`. The ``.po`` files are the
only source: they are compiled in memory when first used (Babel's ``read_po`` → ``write_mo`` →
``gettext.GNUTranslations``), so no binary ``.mo`` is committed or built, an editable install
sees a catalog edit at once, and a wheel only ships the text files. Compiling the three
catalogs takes a few milliseconds, once per process.

Locale negotiation is Babel's: ``Locale.parse`` understands Discord's ``zh-CN`` as well as
POSIX ``zh_TW.UTF-8``, and fills in the script (``zh_HK`` → Traditional), which decides
between the Simplified and the Traditional catalog. Anything else falls back to English.

Core errors carry a `bot.model.Message` (an English message id and its parameters); `text`
renders one in a catalog's language. Quotes and other transcript text are never passed
through a catalog: they are shown as written.
"""

from __future__ import annotations

import gettext
import io
import logging
from functools import cache
from importlib import resources

from babel import Locale, UnknownLocaleError
from babel.core import default_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.model import Message

log = logging.getLogger(__name__)

DOMAIN = "quotebot"
ENGLISH = "en_US"
SIMPLIFIED = "zh_CN"
TRADITIONAL = "zh_TW"
LOCALES = (ENGLISH, SIMPLIFIED, TRADITIONAL)
TRADITIONAL_REGIONS = frozenset({"TW", "HK", "MO"})
# What ``--lang`` accepts, besides any tag `resolve` understands.
LANG_CHOICES = ("zh-CN", "zh-TW", "en")

GETTEXT_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

Translations = gettext.NullTranslations


def resolve(tag: str | None) -> str | None:
    """The catalog for a locale tag (``zh-CN``, ``zh_TW.UTF-8``, ``zh-Hant``, ``en``), or None
    when we have no catalog in that language."""
    if not tag:
        return None
    tag = tag.split(".", 1)[0].split("@", 1)[0].strip()
    try:
        locale = Locale.parse(tag.replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    if locale.language == "en":
        return ENGLISH
    if locale.language == "zh":
        traditional = locale.script == "Hant" or (
            locale.script is None and locale.territory in TRADITIONAL_REGIONS
        )
        return TRADITIONAL if traditional else SIMPLIFIED
    return None


def negotiate(*tags: str | None) -> str:
    """The catalog for the first tag we have one for; English when none matches."""
    for tag in tags:
        found = resolve(tag)
        if found is not None:
            return found
    return ENGLISH


def environment_locale() -> str:
    """The terminal's language: ``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, then ``LANG``, the
    order gettext uses (read by Babel's ``default_locale``); English for ``C``/``POSIX``, for
    a language we have no catalog for, or when none is set."""
    return negotiate(default_locale(GETTEXT_VARIABLES))


def discord_locale(user_locale: object, guild_locale: object = None) -> str:
    """The catalog for a Discord interaction: the user's client language, then the server's,
    then English. Accepts ``discord.Locale`` members or their string values."""
    return negotiate(*(_locale_value(x) for x in (user_locale, guild_locale)))


def _locale_value(value: object) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))


@cache
def translations(locale: str) -> Translations:
    """The compiled catalog for ``locale`` (any tag `negotiate` accepts); cached per process."""
    name = negotiate(locale)
    source = resources.files("bot") / "locales" / name / "LC_MESSAGES" / f"{DOMAIN}.po"
    with source.open("rb") as po:
        catalog = read_po(po, locale=name, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def text(t: Translations, message: Message) -> str:
    """A core `Message` in ``t``'s language, its parameters filled in."""
    return t.gettext(message.id).format(**message.params)


def command(t: Translations, path: str) -> str:
    """A slash command as people of ``t``'s language see it in Discord: ``/quote add`` is
    ``/语录 添加`` in Chinese (the same catalog entries the command sync sends)."""
    return "/" + " ".join(t.gettext(part) for part in path.split())


__all__ = [
    "ENGLISH",
    "LANG_CHOICES",
    "LOCALES",
    "SIMPLIFIED",
    "TRADITIONAL",
    "Translations",
    "command",
    "discord_locale",
    "environment_locale",
    "negotiate",
    "resolve",
    "text",
    "translations",
]
