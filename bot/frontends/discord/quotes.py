"""/quote: this server's collection of saved quotes, as one app_commands Group.

Every call into the quote service goes through `call_quotes`: it runs in a worker thread,
so a slow or locked database never stalls the event loop (``/ask`` and ``/help`` keep
answering), a call still running after `DEFER_AFTER` defers the interaction within
Discord's 3 s, and a busy database gets one private line instead of an error. When the
service becomes async, `call_quotes` is where ``asyncio.to_thread`` becomes ``await``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import enum
from collections.abc import Callable
from typing import Literal, TypeVar

import discord
from discord import app_commands

from bot.config import Config
from bot.frontends.discord import limits, render
from bot.frontends.discord.state import add_cooldown
from bot.frontends.discord.views import reply
from bot.quotes.service import AddResult, QuoteService
from bot.quotes.store import QuoteStoreBusy

MAX_NUMBER = 2**53 - 1  # Discord's largest integer option (2**53 makes it refuse the whole sync)

BUSY = "The quote database is busy, please try again in a moment."
# A store call waits at most the store's busy timeout (0.75 s) per statement; one that takes
# longer than this (queued behind others) is deferred, well inside Discord's 3 s.
DEFER_AFTER = 1.0

T = TypeVar("T")

# One worker thread for every quote call: the store serialises its calls on one lock anyway,
# and more threads only contend for the GIL with the event loop (measured in the 500-
# interaction load test: occasional 250 ms loop stalls with asyncio.to_thread's pool,
# under 100 ms with one thread).
_STORE_THREAD = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="quote-store")

EMPTY = "No quotes saved here yet. Save one with `/quote add` or the 📌 button under `/ask`."


def no_such_quote(number: int) -> str:
    return f"There is no quote #{number} here (it may have been removed). See `/quote list`."


def guild_of(interaction: discord.Interaction) -> int:
    """Quotes are per server; DMs share collection 0."""
    return interaction.guild_id or 0


class Told(enum.Enum):
    BUSY = "busy"  # the user was told the database is busy: nothing more to answer


BUSY_TOLD = Told.BUSY


async def call_quotes(
    interaction: discord.Interaction, call: Callable[[], T]
) -> T | Literal[Told.BUSY]:
    """``call()`` (one quote service call) off the event loop; `BUSY_TOLD` once the user has
    been told the database is busy. Other store errors go to the command's error handler."""
    task = asyncio.get_running_loop().run_in_executor(_STORE_THREAD, call)
    done, _ = await asyncio.wait({task}, timeout=DEFER_AFTER)
    if not done and not interaction.response.is_done():
        # Public "thinking…": `reply` swaps it for a private message when the answer is one.
        await interaction.response.defer(thinking=True)
    try:
        return await task
    except QuoteStoreBusy:
        await reply(interaction, BUSY, ephemeral=True)
        return BUSY_TOLD


def add_result_text(result: AddResult) -> str:
    """What to tell someone who tried to save a quote (used by /quote add and the button)."""
    if result.status == "added" and result.quote is not None:
        return (
            f"Saved as quote **#{result.quote.number}**: "
            f"“{limits.truncate(render.escape(result.quote.text), 300)}” "
            f"— {render.escape(result.quote.speaker)}"
        )
    if result.status == "duplicate" and result.quote is not None:
        return (
            f"That quote is already saved as **#{result.quote.number}** "
            f"(by {render.escape(result.quote.saved_by_name)}). "
            f"See it with `/quote show {result.quote.number}`."
        )
    if result.status == "not_found":
        text = "I couldn't find those exact words in the interview, so nothing was saved."
        if result.suggestion is not None:
            closest = limits.truncate(render.escape(result.suggestion.text), 400)
            speaker = render.escape(result.suggestion.speaker)
            text += f"\nThe closest passage ({speaker}):\n> {closest}"
        return text
    return result.message or "That quote can't be saved."


async def save_quote(quotes: QuoteService, interaction: discord.Interaction, text: str) -> None:
    """Save ``text`` for whoever clicked (the 📌 button under /ask): a private reply."""
    result = await call_quotes(
        interaction,
        lambda: quotes.add(
            guild_of(interaction), interaction.user.id, interaction.user.display_name, text
        ),
    )
    if result is not BUSY_TOLD:
        await reply(interaction, add_result_text(result), ephemeral=True)


class QuoteGroup(
    app_commands.Group, name="quote", description="This server's collection of saved quotes"
):
    """The /quote subcommands; every rule about quotes lives in the quote service."""

    def __init__(self, quotes: QuoteService, config: Config) -> None:
        super().__init__()
        self.quotes = quotes
        add_cooldown(self.add, config)

    @app_commands.command(name="add", description="Save exact words from the interview")
    @app_commands.describe(text="The exact words, as said in the interview (up to 500 characters)")
    async def add(
        self, interaction: discord.Interaction, text: app_commands.Range[str, 1, limits.MAX_INPUT]
    ) -> None:
        result = await call_quotes(
            interaction,
            lambda: self.quotes.add(
                guild_of(interaction), interaction.user.id, interaction.user.display_name, text
            ),
        )
        if result is BUSY_TOLD:
            return
        public = result.status == "added"
        embeds = [render.quote_embed(result.quote)] if public and result.quote else []
        await reply(interaction, add_result_text(result), embeds=embeds, ephemeral=not public)

    @app_commands.command(name="list", description="Saved quotes, newest first, 10 per page")
    @app_commands.describe(page="Page number (default 1)")
    async def list_quotes(
        self, interaction: discord.Interaction, page: app_commands.Range[int, 1, 100000] = 1
    ) -> None:
        result = await call_quotes(
            interaction, lambda: self.quotes.list_page(guild_of(interaction), max(1, page))
        )
        if result is BUSY_TOLD:
            return
        if not result.total:
            await reply(interaction, EMPTY, ephemeral=True)
            return
        title = f"Saved quotes — page {result.page} of {result.pages}"
        footer = f"{result.total} quotes · /quote list page:<n> for more"
        embed = render.quote_list_embed(title, result.quotes, footer)
        await reply(interaction, embeds=[embed])

    @app_commands.command(name="random", description="Show a random saved quote")
    async def random_quote(self, interaction: discord.Interaction) -> None:
        quote = await call_quotes(interaction, lambda: self.quotes.random(guild_of(interaction)))
        if quote is BUSY_TOLD:
            return
        if quote is None:
            await reply(interaction, EMPTY, ephemeral=True)
            return
        await reply(interaction, embeds=[render.quote_embed(quote)])

    @app_commands.command(name="show", description="Show one saved quote by its number")
    @app_commands.describe(number="The quote number, as shown by /quote list")
    async def show(
        self, interaction: discord.Interaction, number: app_commands.Range[int, 1, MAX_NUMBER]
    ) -> None:
        in_range = 1 <= number <= MAX_NUMBER
        quote = await call_quotes(
            interaction,
            lambda: self.quotes.show(guild_of(interaction), number) if in_range else None,
        )
        if quote is BUSY_TOLD:
            return
        if quote is None:
            await reply(interaction, no_such_quote(number), ephemeral=True)
            return
        await reply(interaction, embeds=[render.quote_embed(quote)])

    @app_commands.command(name="search", description="Find saved quotes containing some words")
    @app_commands.describe(text="Words to look for")
    async def search(
        self, interaction: discord.Interaction, text: app_commands.Range[str, 1, limits.MAX_INPUT]
    ) -> None:
        result = await call_quotes(
            interaction, lambda: self.quotes.search(guild_of(interaction), text)
        )
        if result is BUSY_TOLD:
            return
        if result.message:
            await reply(interaction, result.message, ephemeral=True)
            return
        shown = limits.truncate(render.escape(result.query), 100)
        if not result.quotes:
            await reply(interaction, f"No saved quote contains “{shown}”.", ephemeral=True)
            return
        embed = render.quote_list_embed(f"Quotes containing “{shown}”", result.quotes)
        await reply(interaction, embeds=[embed])

    @app_commands.command(
        name="remove", description="Remove a quote you saved (moderators: any quote)"
    )
    @app_commands.describe(number="The quote number, as shown by /quote list")
    async def remove(
        self, interaction: discord.Interaction, number: app_commands.Range[int, 1, MAX_NUMBER]
    ) -> None:
        if not 1 <= number <= MAX_NUMBER:
            await reply(interaction, no_such_quote(number), ephemeral=True)
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
            await reply(interaction, no_such_quote(number), ephemeral=True)
        elif result.status == "forbidden" and result.quote is not None:
            saver = render.escape(result.quote.saved_by_name)
            await reply(
                interaction,
                f"Quote #{number} was saved by {saver}. Only they or someone with the "
                "Manage Messages permission can remove it.",
                ephemeral=True,
            )
        else:
            await reply(interaction, f"Removed quote #{number}.")
