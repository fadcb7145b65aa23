"""/ask: a question answered in the speaker's words, with More and Save buttons under it."""

from __future__ import annotations

import asyncio
import functools

import discord
from discord import app_commands
from discord.app_commands import locale_str
from discord.ext import commands

from bot.config import Config
from bot.frontends.discord import limits, render
from bot.frontends.discord.quotes import save_quote
from bot.frontends.discord.state import LibraryHolder, add_cooldown
from bot.frontends.discord.translate import translations_for
from bot.frontends.discord.views import AskView, reply
from bot.frontends.i18n import Translations, text
from bot.library import Library
from bot.model import QueryError
from bot.quotes.service import QuoteService

MAX_RESULTS = 5


class AskCog(commands.Cog):
    """/ask over the library being served; its buttons save through the quote service."""

    def __init__(
        self,
        holder: LibraryHolder,
        quotes: QuoteService,
        config: Config,
        *,
        button_timeout: float,
    ) -> None:
        self.holder = holder
        self.quotes = quotes
        self.button_timeout = button_timeout
        add_cooldown(self.ask, config)

    @app_commands.command(
        name=locale_str("ask"),
        description=locale_str("Ask about the interviews; the answer is the speaker's own words"),
    )
    @app_commands.rename(
        question=locale_str("question"),
        results=locale_str("results"),
        interview=locale_str("interview"),
    )
    @app_commands.describe(
        question=locale_str("What you want to know (up to 500 characters)"),
        results=locale_str("How many answers to show, 1-5 (default 1)"),
        interview=locale_str("Only search this interview (default: all of them)"),
    )
    async def ask(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, limits.MAX_INPUT],
        results: app_commands.Range[int, 1, MAX_RESULTS] = 1,
        interview: str | None = None,
    ) -> None:
        t = translations_for(interaction)
        _ = t.gettext
        # Discord enforces the option limits in its client; a raw or stale request may not.
        if len(question) > limits.MAX_INPUT:
            await reply(
                interaction,
                _(
                    "That question is {length} characters long; please keep it to "
                    "{limit} or fewer."
                ).format(length=len(question), limit=limits.MAX_INPUT),
                ephemeral=True,
            )
            return
        if not 1 <= results <= MAX_RESULTS:
            await reply(
                interaction,
                _("{option} must be between 1 and {limit}.").format(
                    option=_("results"), limit=MAX_RESULTS
                ),
                ephemeral=True,
            )
            return
        # This question (and its More button) keeps the library it started with, so a /reload
        # in between cannot shift its pages or drop the interview it was restricted to.
        library = self.holder.current
        scope = ""
        if interview is not None and interview.strip():
            transcript = library.resolve_interview(interview)
            if transcript is None:
                await reply(
                    interaction, unknown_interview_text(t, library, interview), ephemeral=True
                )
                return
            interview, scope = transcript.id, transcript.title
        else:
            interview = None
        try:
            # Off the event loop: the semantic tier embeds the question (tens of ms).
            answer = await asyncio.to_thread(
                library.ask, question, top=results, interview=interview
            )
        except QueryError as exc:
            await reply(interaction, text(t, exc.message), ephemeral=True)
            return
        message = render.answer_message(
            t, answer, scope=scope, interviews=len(library.transcripts)
        )
        if not answer.shown:
            await reply(interaction, message["content"])
            return
        view = AskView(
            t,
            ask=lambda offset: library.ask(
                question, top=results, interview=interview, offset=offset
            ),
            save=functools.partial(save_quote, self.quotes),
            asker_id=interaction.user.id,
            answer=answer,
            per_page=results,
            timeout=self.button_timeout,
            scope=scope,
        )
        view.origin = interaction
        await reply(interaction, message["content"], embeds=message["embeds"], view=view)

    @ask.autocomplete("interview")
    async def ask_interview(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return render.interview_choices(self.holder.current.transcripts, current)


def unknown_interview_text(t: Translations, library: Library, wanted: str) -> str:
    shown = limits.truncate(render.escape(wanted.strip()), 100)
    listing = "\n".join(
        f"• {limits.truncate(render.escape(x.title), 150)}" for x in library.transcripts[:20]
    )
    return t.gettext(
        "There is no interview called “{interview}”. Pick one from the list as you type, or "
        "leave the option empty to search them all. Interviews:\n{listing}"
    ).format(interview=shown, listing=listing)
