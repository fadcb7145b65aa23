"""/quote: this server's collection of saved quotes, as one app_commands Group.

Every call into the (async) quote service goes through `call_quotes`: the SQLite adapter
runs it on its own worker thread, so a slow or locked database never stalls the event loop
(``/ask`` and ``/help`` keep answering); a call still running after `DEFER_AFTER` defers the
interaction within Discord's 3 s, and a busy database gets one private line, not an error.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable
from typing import Literal, TypeVar

import discord
from discord import app_commands
from discord.app_commands import locale_str

from bot.config import Config
from bot.frontends.discord import limits, render
from bot.frontends.discord.state import add_cooldown
from bot.frontends.discord.translate import translations_for
from bot.frontends.discord.views import add_result_text, reply
from bot.frontends.i18n import Translations, command
from bot.frontends.i18n import text as translate
from bot.model import N_
from bot.quotes.service import QuoteService
from bot.quotes.store import QuoteStoreBusy, StoredQuote

MAX_NUMBER = 2**53 - 1  # Discord's largest integer option (2**53 makes it refuse the whole sync)

BUSY = N_("The quote database is busy, please try again in a moment.")
# A store call waits at most the store's busy timeout (0.75 s) per statement; one that takes
# longer than this (queued behind others) is deferred, well inside Discord's 3 s.
DEFER_AFTER = 1.0

T = TypeVar("T")



def empty_text(t: Translations) -> str:
    return t.gettext(
        "No quotes saved here yet. Save one with `{add}` or the 📌 button under `{ask}`."
    ).format(add=command(t, "quote add"), ask=command(t, "ask"))


def no_such_quote(t: Translations, number: int) -> str:
    return t.gettext(
        "There is no quote #{number} here (it may have been removed). See `{list}`."
    ).format(number=number, list=command(t, "quote list"))


def guild_of(interaction: discord.Interaction) -> int:
    """Quotes are per server; DMs share collection 0."""
    return interaction.guild_id or 0


class Told(enum.Enum):
    BUSY = "busy"  # the user was told the database is busy: nothing more to answer


BUSY_TOLD = Told.BUSY


async def call_quotes(
    interaction: discord.Interaction, call: Callable[[], Awaitable[T]]
) -> T | Literal[Told.BUSY]:
    """``await call()`` (one quote service call; the SQLite adapter runs it on its own worker
    thread), deferring the interaction if it is still running after `DEFER_AFTER`;
    `BUSY_TOLD` once the user has been told the database is busy. Other store errors go to
    the command's error handler."""
    task = asyncio.ensure_future(call())
    done, _ = await asyncio.wait({task}, timeout=DEFER_AFTER)
    if not done and not interaction.response.is_done():
        # Public "thinking…": `reply` swaps it for a private message when the answer is one.
        await interaction.response.defer(thinking=True)
    try:
        return await task
    except QuoteStoreBusy:
        busy = translations_for(interaction).gettext(BUSY)
        await reply(interaction, busy, ephemeral=True)
        return BUSY_TOLD


async def show_quote(
    interaction: discord.Interaction,
    quote: StoredQuote | None | Literal[Told.BUSY],
    missing: Callable[[Translations], str],
) -> None:
    """One saved quote as a public embed; ``missing`` privately when there is none (nothing
    more once the user was told the database is busy)."""
    if quote is BUSY_TOLD:
        return
    t = translations_for(interaction)
    if quote is None:
        await reply(interaction, missing(t), ephemeral=True)
        return
    await reply(interaction, embeds=[render.quote_embed(t, quote)])


async def save_quote(quotes: QuoteService, interaction: discord.Interaction, text: str) -> None:
    """Save ``text`` for whoever clicked (the 📌 button under /ask): a private reply."""
    result = await call_quotes(
        interaction,
        lambda: quotes.add(
            guild_of(interaction), interaction.user.id, interaction.user.display_name, text
        ),
    )
    if result is not BUSY_TOLD:
        t = translations_for(interaction)
        await reply(interaction, add_result_text(t, result), ephemeral=True)


class QuoteGroup(
    app_commands.Group,
    name=locale_str("quote"),
    description=locale_str("This server's collection of saved quotes"),
):
    """The /quote subcommands; every rule about quotes lives in the quote service."""

    def __init__(self, quotes: QuoteService, config: Config) -> None:
        super().__init__()
        self.quotes = quotes
        add_cooldown(self.add, config)

    @app_commands.command(
        name=locale_str("add"), description=locale_str("Save exact words from the interview")
    )
    @app_commands.rename(text=locale_str("text"))
    @app_commands.describe(
        text=locale_str("The exact words, as said in the interview (up to 500 characters)")
    )
    async def add(
        self, interaction: discord.Interaction, text: app_commands.Range[str, 1, limits.MAX_INPUT]
    ) -> None:
        t = translations_for(interaction)
        result = await call_quotes(
            interaction,
            lambda: self.quotes.add(
                guild_of(interaction), interaction.user.id, interaction.user.display_name, text
            ),
        )
        if result is BUSY_TOLD:
            return
        public = result.status == "added"
        embeds = [render.quote_embed(t, result.quote)] if public and result.quote else []
        await reply(interaction, add_result_text(t, result), embeds=embeds, ephemeral=not public)

    @app_commands.command(
        name=locale_str("list"), description=locale_str("Saved quotes, newest first, 10 per page")
    )
    @app_commands.rename(page=locale_str("page"))
    @app_commands.describe(page=locale_str("Page number (default 1)"))
    async def list_quotes(
        self, interaction: discord.Interaction, page: app_commands.Range[int, 1, 100000] = 1
    ) -> None:
        t = translations_for(interaction)
        result = await call_quotes(
            interaction, lambda: self.quotes.list_page(guild_of(interaction), max(1, page))
        )
        if result is BUSY_TOLD:
            return
        if not result.total:
            await reply(interaction, empty_text(t), ephemeral=True)
            return
        title = t.gettext("Saved quotes — page {page} of {pages}").format(
            page=result.page, pages=result.pages
        )
        footer = t.ngettext(
            "{count} quote · {list} {page}:<n> for more",
            "{count} quotes · {list} {page}:<n> for more",
            result.total,
        ).format(count=result.total, list=command(t, "quote list"), page=t.gettext("page"))
        embed = render.quote_list_embed(t, title, result.quotes, footer)
        await reply(interaction, embeds=[embed])

    @app_commands.command(
        name=locale_str("random"), description=locale_str("Show a random saved quote")
    )
    async def random_quote(self, interaction: discord.Interaction) -> None:
        quote = await call_quotes(interaction, lambda: self.quotes.random(guild_of(interaction)))
        await show_quote(interaction, quote, empty_text)

    @app_commands.command(
        name=locale_str("show"), description=locale_str("Show one saved quote by its number")
    )
    @app_commands.rename(number=locale_str("number"))
    @app_commands.describe(number=locale_str("The quote number, as shown by /quote list"))
    async def show(
        self, interaction: discord.Interaction, number: app_commands.Range[int, 1, MAX_NUMBER]
    ) -> None:
        # The service answers None for a number out of its range (Discord enforces ours).
        quote = await call_quotes(
            interaction, lambda: self.quotes.show(guild_of(interaction), number)
        )
        await show_quote(interaction, quote, lambda t: no_such_quote(t, number))

    @app_commands.command(
        name=locale_str("search"), description=locale_str("Find saved quotes containing some words")
    )
    @app_commands.rename(text=locale_str("text"))
    @app_commands.describe(text=locale_str("Words to look for"))
    async def search(
        self, interaction: discord.Interaction, text: app_commands.Range[str, 1, limits.MAX_INPUT]
    ) -> None:
        t = translations_for(interaction)
        result = await call_quotes(
            interaction, lambda: self.quotes.search(guild_of(interaction), text)
        )
        if result is BUSY_TOLD:
            return
        if result.message is not None:
            await reply(interaction, translate(t, result.message), ephemeral=True)
            return
        shown = limits.truncate(render.escape(result.query), 100)
        if not result.quotes:
            await reply(
                interaction,
                t.gettext("No saved quote contains “{text}”.").format(text=shown),
                ephemeral=True,
            )
            return
        title = t.gettext("Quotes containing “{text}”").format(text=shown)
        embed = render.quote_list_embed(t, title, result.quotes)
        await reply(interaction, embeds=[embed])

    @app_commands.command(
        name=locale_str("remove"),
        description=locale_str("Remove a quote you saved (moderators: any quote)"),
    )
    @app_commands.rename(number=locale_str("number"))
    @app_commands.describe(number=locale_str("The quote number, as shown by /quote list"))
    async def remove(
        self, interaction: discord.Interaction, number: app_commands.Range[int, 1, MAX_NUMBER]
    ) -> None:
        t = translations_for(interaction)
        if not 1 <= number <= MAX_NUMBER:
            await reply(interaction, no_such_quote(t, number), ephemeral=True)
            return
        can_manage = interaction.guild_id is not None and interaction.permissions.manage_messages
        result = await call_quotes(
            interaction,
            lambda: self.quotes.remove(
                guild_of(interaction), number, interaction.user.id, can_manage
            ),
        )
        if result is BUSY_TOLD:
            return
        if result.status == "not_found":
            await reply(interaction, no_such_quote(t, number), ephemeral=True)
        elif result.status == "forbidden" and result.quote is not None:
            saver = render.escape(result.quote.saved_by_name)
            await reply(
                interaction,
                t.gettext(
                    "Quote #{number} was saved by {name}. Only they or someone with the "
                    "Manage Messages permission can remove it."
                ).format(number=number, name=saver),
                ephemeral=True,
            )
        else:
            await reply(interaction, t.gettext("Removed quote #{number}.").format(number=number))
