"""/quote: this server's collection of saved quotes, as one app_commands Group."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.config import Config
from bot.frontends.discord import limits, render
from bot.frontends.discord.state import add_cooldown
from bot.frontends.discord.views import add_result_text, reply
from bot.quotes.service import QuoteService

MAX_NUMBER = 2**53 - 1  # Discord's largest integer option (2**53 makes it refuse the whole sync)

EMPTY = "No quotes saved here yet. Save one with `/quote add` or the 📌 button under `/ask`."


def no_such_quote(number: int) -> str:
    return f"There is no quote #{number} here (it may have been removed). See `/quote list`."


def guild_of(interaction: discord.Interaction) -> int:
    """Quotes are per server; DMs share collection 0."""
    return interaction.guild_id or 0


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
        result = await self.quotes.add(
            guild_of(interaction), interaction.user.id, interaction.user.display_name, text
        )
        public = result.status == "added"
        embeds = [render.quote_embed(result.quote)] if public and result.quote else []
        await reply(interaction, add_result_text(result), embeds=embeds, ephemeral=not public)

    @app_commands.command(name="list", description="Saved quotes, newest first, 10 per page")
    @app_commands.describe(page="Page number (default 1)")
    async def list_quotes(
        self, interaction: discord.Interaction, page: app_commands.Range[int, 1, 100000] = 1
    ) -> None:
        result = await self.quotes.list_page(guild_of(interaction), max(1, page))
        if not result.total:
            await reply(interaction, EMPTY, ephemeral=True)
            return
        title = f"Saved quotes — page {result.page} of {result.pages}"
        footer = f"{result.total} quotes · /quote list page:<n> for more"
        embed = render.quote_list_embed(title, result.quotes, footer)
        await reply(interaction, embeds=[embed])

    @app_commands.command(name="random", description="Show a random saved quote")
    async def random_quote(self, interaction: discord.Interaction) -> None:
        quote = await self.quotes.random(guild_of(interaction))
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
        quote = await self.quotes.show(guild_of(interaction), number) if in_range else None
        if quote is None:
            await reply(interaction, no_such_quote(number), ephemeral=True)
            return
        await reply(interaction, embeds=[render.quote_embed(quote)])

    @app_commands.command(name="search", description="Find saved quotes containing some words")
    @app_commands.describe(text="Words to look for")
    async def search(
        self, interaction: discord.Interaction, text: app_commands.Range[str, 1, limits.MAX_INPUT]
    ) -> None:
        result = await self.quotes.search(guild_of(interaction), text)
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
        result = await self.quotes.remove(
            guild_of(interaction), number, interaction.user.id, can_manage
        )
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
