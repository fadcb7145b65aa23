"""Buttons under an /ask answer, and the one way this bot replies to an interaction.

Why one ``reply`` helper: every message must go out with mentions disabled and within
Discord's limits, and an interaction must be answered exactly once (first a response, then
follow-ups); doing that in one place keeps every command honest about it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypedDict

import discord

from bot.frontends.discord import limits, render
from bot.frontends.discord.translate import translations_for
from bot.frontends.i18n import Translations, command, text
from bot.model import N_, Answer, Hit
from bot.quotes.service import MAX_QUOTE_CHARS, AddResult
from bot.text.sentences import split_sentences

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
INTERNAL_ERROR = N_(
    "Sorry, something went wrong on our side while handling that. It has been logged; "
    "please try again in a moment."
)


class _Send(TypedDict, total=False):
    """What ``reply`` passes to discord.py's send (``content`` and ``view`` only when given)."""

    content: str
    embeds: list[discord.Embed]
    ephemeral: bool
    allowed_mentions: discord.AllowedMentions
    view: discord.ui.View


async def reply(
    interaction: discord.Interaction,
    content: str | None = None,
    *,
    embeds: Sequence[discord.Embed] = (),
    view: discord.ui.View | None = None,
    ephemeral: bool = False,
) -> None:
    """Answer ``interaction`` (or follow up if it was already answered), safely sized."""
    kwargs: _Send = {
        "embeds": limits.fit_embeds(embeds),
        "ephemeral": ephemeral,
        "allowed_mentions": NO_MENTIONS,
    }
    if content:
        kwargs["content"] = limits.fit_content(content)
    if view is not None:
        kwargs["view"] = view
    if interaction.response.is_done():
        if ephemeral and _loading(interaction):
            # The first follow-up would replace the public "thinking…" message and inherit
            # its visibility; a private answer removes it and comes on its own instead.
            await interaction.delete_original_response()
        interaction.extras["followed_up"] = True
        await interaction.followup.send(**kwargs)
    else:
        await interaction.response.send_message(**kwargs)


def _loading(interaction: discord.Interaction) -> bool:
    """Whether the interaction was deferred with a public "thinking…" message that no
    follow-up has replaced yet (see `bot.frontends.discord.quotes.call_quotes`)."""
    deferred = interaction.response.type is discord.InteractionResponseType.deferred_channel_message
    return deferred and not interaction.extras.get("followed_up")


def quotable(text: str, limit: int = MAX_QUOTE_CHARS) -> str:
    """A passage cut to the quote length limit at a sentence end, so it can be saved whole."""
    text = text.strip()
    if len(text) <= limit:
        return text
    kept = ""
    for sentence in split_sentences(text):
        if len(kept) + len(sentence) > limit:
            break
        kept += sentence
    return kept.strip() or text[:limit]


def add_result_text(t: Translations, result: AddResult) -> str:
    """What to tell someone who tried to save a quote (used by /quote add and the button)."""
    _ = t.gettext
    if result.status == "added" and result.quote is not None:
        return _("Saved as quote **#{number}**: “{text}” — {speaker}").format(
            number=result.quote.number,
            text=limits.truncate(render.escape(result.quote.text), 300),
            speaker=render.escape(result.quote.speaker),
        )
    if result.status == "duplicate" and result.quote is not None:
        return _(
            "That quote is already saved as **#{number}** (by {name}). "
            "See it with `{show} {number}`."
        ).format(
            number=result.quote.number,
            name=render.escape(result.quote.saved_by_name),
            show=command(t, "quote show"),
        )
    if result.status == "not_found":
        reply_text = _("I couldn't find those exact words in the interview, so nothing was saved.")
        if result.suggestion is not None:
            closest = limits.truncate(render.escape(result.suggestion.text), 400)
            speaker = render.escape(result.suggestion.speaker)
            reply_text += "\n" + _("The closest passage ({speaker}):").format(speaker=speaker)
            reply_text += f"\n> {closest}"
        return reply_text
    if result.message is not None:
        return text(t, result.message)
    return _("That quote can't be saved.")


class SaveButton(discord.ui.Button["AskView"]):
    def __init__(self, index: int, label: str) -> None:
        super().__init__(label=label, style=discord.ButtonStyle.secondary, emoji="📌")
        self.index = index

    async def callback(self, interaction: discord.Interaction) -> None:
        assert self.view is not None
        await self.view.save(interaction, self.index)


class MoreButton(discord.ui.Button["AskView"]):
    def __init__(self, label: str) -> None:
        super().__init__(label=label, style=discord.ButtonStyle.primary)

    async def callback(self, interaction: discord.Interaction) -> None:
        assert self.view is not None
        await self.view.more(interaction)


class AskView(discord.ui.View):
    """Paging (asker only) and saving for one /ask answer; stops listening after ``timeout``.

    Its buttons speak the asker's language (``t``); what a click answers speaks the clicker's.
    """

    def __init__(
        self,
        t: Translations,
        *,
        ask: Callable[[int], Answer],
        save: Callable[[discord.Interaction, str], Awaitable[None]],
        asker_id: int,
        answer: Answer,
        per_page: int,
        timeout: float,
        scope: str = "",
    ) -> None:
        super().__init__(timeout=timeout)
        self.t = t
        self.scope = scope  # the interview the question was restricted to, for the header
        self.ask = ask  # offset -> next Answer for the same question
        self.save_text = save  # (interaction, text): saves through the quote service, replies
        self.asker_id = asker_id
        self.per_page = per_page
        self.offset = 0
        self.hits: tuple[Hit, ...] = answer.shown
        self.origin: discord.Interaction | None = None  # the /ask, to disable buttons later
        self.more_button = MoreButton(t.gettext("More"))
        self._layout()

    def _layout(self) -> None:
        _ = self.t.gettext
        self.clear_items()
        self.add_item(self.more_button)
        single = len(self.hits) == 1
        for index in range(len(self.hits)):
            label = _("Save quote") if single else _("Save quote {number}").format(
                number=index + 1
            )
            self.add_item(SaveButton(index, label))

    async def more(self, interaction: discord.Interaction) -> None:
        if interaction.user.id != self.asker_id:
            t = translations_for(interaction)
            await reply(
                interaction,
                t.gettext(
                    "Only the person who asked can page through these answers. "
                    "Ask your own with `{ask}`."
                ).format(ask=command(t, "ask")),
                ephemeral=True,
            )
            return
        offset = self.offset + self.per_page
        # The search takes tens of milliseconds with the semantic tier: off the event loop.
        answer = await asyncio.to_thread(self.ask, offset)
        if not answer.shown:
            await reply(
                interaction,
                self.t.gettext("That's all: there are no more answers."),
                ephemeral=True,
            )
            return
        self.offset, self.hits = offset, answer.shown
        self._layout()
        message = render.answer_message(self.t, answer, offset, self.scope)
        await interaction.response.edit_message(
            content=message["content"],
            embeds=message["embeds"],
            view=self,
            allowed_mentions=NO_MENTIONS,
        )

    async def save(self, interaction: discord.Interaction, index: int) -> None:
        t = translations_for(interaction)
        if index >= len(self.hits):
            await reply(interaction, t.gettext("That answer is no longer shown."), ephemeral=True)
            return
        await self.save_text(interaction, quotable(self.hits[index].text))

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        if self.origin is None:
            return
        try:
            await self.origin.edit_original_response(view=self, allowed_mentions=NO_MENTIONS)
        except Exception:  # a background task: nobody else would see the failure
            log.warning("could not disable expired buttons", exc_info=True)

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[AskView]
    ) -> None:
        log.error("button %r failed", item, exc_info=error)
        try:
            await reply(
                interaction, translations_for(interaction).gettext(INTERNAL_ERROR), ephemeral=True
            )
        except discord.HTTPException:
            log.exception("could not report a button failure")
