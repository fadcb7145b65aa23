"""Discord's side of localization: command names in the reader's language, and the catalog
for one interaction.

Command, option and group names and descriptions are written as ``locale_str`` (the English
is what Discord dispatches on); when the tree syncs, `CatalogTranslator` supplies each
Discord locale's text from the same gettext catalogs as every reply (``bot.frontends.i18n``),
so Discord shows ``/提问`` to a Chinese client and the bot mentions it by that name.
"""

from __future__ import annotations

import discord
from discord import app_commands

from bot.frontends import i18n


class CatalogTranslator(app_commands.Translator):
    """Localizations from the gettext catalogs, for every Discord locale we have one for.

    English is the commands' own language, so it adds no localization; a message with no
    translation is left out (Discord then shows the English)."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        catalog = i18n.resolve(locale.value)
        if catalog is None or catalog == i18n.ENGLISH:
            return None
        translated = i18n.translations(catalog).gettext(string.message)
        return translated if translated != string.message else None


def translations_for(interaction: discord.Interaction) -> i18n.Translations:
    """The catalog to answer ``interaction`` in: the user's client language, then the
    server's, then English."""
    return i18n.translations(i18n.discord_locale(interaction.locale, interaction.guild_locale))


__all__ = ["CatalogTranslator", "translations_for"]
