"""/topics, /help and /reload: what the bot covers, and serving a fresh copy of it."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from pathlib import Path

import discord
from discord import app_commands
from discord.app_commands import locale_str
from discord.ext import commands

from bot.config import Config
from bot.frontends.discord import limits, render
from bot.frontends.discord.state import LibraryHolder, load_library
from bot.frontends.discord.translate import translations_for
from bot.frontends.discord.views import reply
from bot.frontends.i18n import Translations
from bot.model import LibraryError

log = logging.getLogger(__name__)


class MetaCog(commands.Cog):
    """The table of contents, the command list, and the one command that swaps the library."""

    def __init__(self, holder: LibraryHolder, config: Config) -> None:
        self.holder = holder
        self.config = config
        self.reload_lock = asyncio.Lock()  # one /reload at a time

    @app_commands.command(
        name=locale_str("topics"),
        description=locale_str("What the interviews cover, or one section's questions"),
    )
    @app_commands.rename(section=locale_str("section"))
    @app_commands.describe(
        section=locale_str("A section to show its questions (leave empty for all)")
    )
    async def topics(self, interaction: discord.Interaction, section: str | None = None) -> None:
        t = translations_for(interaction)
        library = self.holder.current
        topics = library.topics()
        if not section:
            if len(topics) > 1:
                await reply(
                    interaction,
                    render.interviews_text(t, topics),
                    embeds=render.library_embeds(t, topics),
                )
            else:
                await reply(interaction, embeds=render.topics_embeds(t, topics))
            return
        if len(section) > limits.MAX_INPUT:
            await reply(interaction, t.gettext("That section name is too long."), ephemeral=True)
            return
        found = library.find_section(section)
        if found is None:
            names = [render.section_choice_name(t, s, len(topics) > 1)
                     for t in topics for s in t.sections]
            listing = "\n".join(f"• {render.escape(n)}" for n in names[:20])
            shown = limits.truncate(render.escape(section), 100)
            await reply(
                interaction,
                t.gettext("There is no section called “{section}”. Sections:\n{listing}").format(
                    section=shown, listing=listing
                ),
                ephemeral=True,
            )
            return
        await reply(interaction, embeds=[render.section_embed(t, *found)])

    @topics.autocomplete("section")
    async def topics_section(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return render.section_choices(self.holder.current.topics(), current)

    @app_commands.command(
        name=locale_str("reload"),
        description=locale_str("Reload the interviews from the data folder"),
    )
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @app_commands.allowed_contexts(guilds=True, dms=False, private_channels=False)
    async def reload(self, interaction: discord.Interaction) -> None:
        """Load the data dir afresh and serve it, or change nothing and say why.

        The load runs in a worker thread (it may tokenise for seconds); the swap is one
        assignment on the event loop, made only after the new library is complete and warmed up.
        """
        t = translations_for(interaction)
        _ = t.gettext
        if interaction.guild_id is None:
            await reply(interaction, _("That command only works in a server, not in DMs."),
                        ephemeral=True)
            return
        permissions = interaction.permissions
        if not (permissions.manage_guild or permissions.administrator):
            await reply(
                interaction,
                _("Sorry, only members with the Manage Server permission can reload the "
                  "interviews."),
                ephemeral=True,
            )
            return
        if self.reload_lock.locked():
            await reply(interaction,
                        _("A reload is already running; try again when it has finished."),
                        ephemeral=True)
            return
        async with self.reload_lock:
            await interaction.response.defer(ephemeral=True, thinking=True)
            old = self.holder.current
            data_dir = self.config.data_dir
            try:
                new = await asyncio.to_thread(load_library, data_dir)
            except Exception as exc:  # noqa: BLE001 - any failure must leave the old library serving
                expected = isinstance(exc, ValueError | OSError) or isinstance(exc, LibraryError)
                if expected:
                    log.warning("/reload failed: %s", exc)
                    problem = render.one_line(t, _without_data_dir(str(exc), data_dir))
                else:
                    log.exception("/reload failed unexpectedly")
                    problem = _("An unexpected error happened (it has been logged).")
                await reply(
                    interaction, render.reload_failed_text(t, problem, old), ephemeral=True
                )
                return
            self.holder.current = new
            log.info("reloaded the library: %d interviews, %d passages",
                     len(new.transcripts), len(new.passages))
            process = this_process(t, interaction.client, self.config)
            await reply(interaction, render.reload_text(t, new, process), ephemeral=True)

    @app_commands.command(
        name=locale_str("help"), description=locale_str("List the bot's commands")
    )
    async def help_command(self, interaction: discord.Interaction) -> None:
        t = translations_for(interaction)
        await reply(interaction, embeds=[render.help_embed(t)], ephemeral=True)


def this_process(t: Translations, client: discord.Client, config: Config) -> str:
    """"shards 0,1 of 4; pid 812 on web-1": which process /reload reloaded.

    With several processes serving one bot, /reload reaches only the process holding the
    server's shard; the others keep their library (README: rolling a reload). The shards are
    the connected ones, or the configured ones before connecting.
    """
    shards = sorted(getattr(client, "shards", {})) or list(config.shard_ids or ())
    count = getattr(client, "shard_count", None) or config.shard_count
    where = t.gettext("pid {pid} on {host}").format(pid=os.getpid(), host=socket.gethostname())
    if shards and count:
        label = t.ngettext("shard {shards} of {count}", "shards {shards} of {count}", len(shards))
        where = label.format(shards=",".join(map(str, shards)), count=count) + "; " + where
    return where


def _without_data_dir(message: str, data_dir: Path | None) -> str:
    """File names relative to the data dir: server admins need the file and line, not the
    host's directory layout (the log keeps the full path for the operator)."""
    if data_dir is None:
        return message
    return message.replace(f"{data_dir}{os.sep}", "")
