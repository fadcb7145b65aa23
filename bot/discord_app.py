"""The Discord front end: slash commands over the library and the quote service.

``create_bot`` builds a ready client without connecting (tests drive it against a fake Discord
API; the CLI runs it). Every reply goes through ``discord_views.reply``, so mentions are
disabled and Discord's size limits respected everywhere, and every failure ends in an
ephemeral message the person can understand — the interaction is never left unanswered.

The library being served lives in one `LibraryHolder`; every command reads ``bot.library`` when
it runs, so ``/reload`` swaps it for all of them (and for the quote service) in one assignment.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import discord
from discord import app_commands

from bot import discord_limits as limits
from bot import discord_render as render
from bot.config import Config, ConfigError, load_config
from bot.discord_views import INTERNAL_ERROR, NO_MENTIONS, AskView, add_result_text, reply
from bot.quote_backend import QuoteBackend, SQLiteQuoteBackend, make_quote_backend
from bot.quote_store import QuoteStore
from bot.quotes import QuoteService

log = logging.getLogger(__name__)

MAX_RESULTS = 5
MAX_INTERVIEW_INPUT = 100  # an interview option holds an id or a title, like a choice value
MAX_NUMBER = 2**53  # Discord's largest integer option; SQLite overflows past 2**63
BUTTON_TIMEOUT = 300.0  # seconds the More / Save buttons keep working

__all__ = [
    "ConfigError",
    "LibraryHolder",
    "QuoteBot",
    "create_bot",
    "run_bot",
    "sync_commands",
    "sync_commands_async",
]


class LibraryHolder:
    """The one reference to the library being served.

    Why a holder: the quote service is built once, yet must check quotes against whatever
    library ``/reload`` installed last. It is given this holder (which quacks like a library for
    ``find_quote``), so replacing ``current`` switches every reader at once, and nothing keeps
    a stale library captured at start-up. Work already running keeps the object it started with.
    """

    def __init__(self, library: Any) -> None:
        self.current = library

    def find_quote(self, text: str) -> Any:
        return self.current.find_quote(text)


class QuoteBot(discord.Client):
    """A client whose ``tree`` holds every command; owns the library and the quote service."""

    def __init__(
        self,
        config: Config,
        library: LibraryHolder,
        quotes: QuoteService,
        *,
        button_timeout: float = BUTTON_TIMEOUT,
    ) -> None:
        # Slash commands need no privileged intents (guilds keeps discord.py's state sane);
        # mentions are disabled client-wide as a second line behind the per-message setting.
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(intents=intents, allowed_mentions=NO_MENTIONS)
        self.config = config
        self.holder = library
        self.quotes = quotes
        self.button_timeout = button_timeout
        self.reload_lock = asyncio.Lock()  # one /reload at a time
        self.tree = app_commands.CommandTree(
            self,
            allowed_contexts=app_commands.AppCommandContext(
                guild=True, dm_channel=True, private_channel=True
            ),
        )
        self.tree.error(self.on_app_command_error)
        _register_commands(self)

    async def login(self, token: str) -> None:
        """Open (connect to, check, migrate) the quote store first: an unreachable or foreign
        database stops the bot with its one-line reason before Discord is contacted."""
        await self.quotes.store.open()
        await super().login(token)

    async def close(self) -> None:
        await super().close()
        await self.quotes.store.close()

    @property
    def library(self) -> Any:
        """The library to use *now*; read it at call time, never keep it past one request."""
        return self.holder.current

    @library.setter
    def library(self, library: Any) -> None:
        self.holder.current = library

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Turn any failure into an ephemeral explanation; log the unexpected ones."""
        if interaction.type is discord.InteractionType.autocomplete:
            log.error("autocomplete failed", exc_info=error)
            return
        message = explain_error(error)
        if message is None:
            command = interaction.command.qualified_name if interaction.command else "?"
            log.error("/%s failed", command, exc_info=error)
            message = INTERNAL_ERROR
        try:
            await reply(interaction, message, ephemeral=True)
        except discord.HTTPException:
            log.exception("could not tell the user about an error")


def explain_error(error: app_commands.AppCommandError) -> str | None:
    """A user-facing sentence for expected errors; None for internal failures."""
    if isinstance(error, app_commands.CommandOnCooldown):
        wait = max(1, math.ceil(error.retry_after))
        return f"You're going a bit fast: please wait {wait} s and try again."
    if isinstance(error, app_commands.MissingPermissions):
        needed = ", ".join(p.replace("_", " ").title() for p in error.missing_permissions)
        return f"You need the {needed} permission to do that."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "That command only works in a server, not in DMs."
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use that command here."
    if isinstance(error, app_commands.TransformerError):
        value = limits.truncate(str(error.value), 50)
        return f"That value ({value}) isn't valid for this option; please check it and retry."
    if isinstance(error, app_commands.CommandNotFound | app_commands.CommandSignatureMismatch):
        return (
            "This command has changed since it was registered. Please try again later "
            "(the bot owner needs to run `quotebot sync`)."
        )
    return None


# ---- commands -------------------------------------------------------------------------------


def _cooldown(bot: QuoteBot):
    return app_commands.checks.cooldown(bot.config.cooldown_rate, bot.config.cooldown_per)


def _register_commands(bot: QuoteBot) -> None:
    tree = bot.tree

    @tree.command(
        name="ask", description="Ask about the interviews; the answer is the speaker's own words"
    )
    @app_commands.describe(
        question="What you want to know (up to 500 characters)",
        results="How many answers to show, 1-5 (default 1)",
        interview="Only search this interview (default: all of them)",
    )
    @_cooldown(bot)
    async def ask(
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, limits.MAX_INPUT],
        results: app_commands.Range[int, 1, MAX_RESULTS] = 1,
        interview: str | None = None,
    ) -> None:
        await _ask(bot, interaction, question, results, interview)

    @ask.autocomplete("interview")
    async def ask_interview(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return render.interview_choices(bot.library.transcripts, current)

    @tree.command(
        name="topics", description="What the interviews cover, or one section's questions"
    )
    @app_commands.describe(section="A section to show its questions (leave empty for all)")
    async def topics(interaction: discord.Interaction, section: str | None = None) -> None:
        await _topics(bot, interaction, section)

    @topics.autocomplete("section")
    async def topics_section(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return render.section_choices(bot.library.topics(), current)

    @tree.command(name="reload", description="Reload the interviews from the data folder")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @app_commands.allowed_contexts(guilds=True, dms=False, private_channels=False)
    async def reload(interaction: discord.Interaction) -> None:
        await _reload(bot, interaction)

    @tree.command(name="help", description="List the bot's commands")
    async def help_command(interaction: discord.Interaction) -> None:
        await reply(interaction, embeds=[render.help_embed()], ephemeral=True)

    tree.add_command(_quote_group(bot))


def _quote_group(bot: QuoteBot) -> app_commands.Group:
    group = app_commands.Group(name="quote", description="This server's collection of saved quotes")
    quotes = bot.quotes

    @group.command(name="add", description="Save exact words from the interview")
    @app_commands.describe(text="The exact words, as said in the interview (up to 500 characters)")
    @_cooldown(bot)
    async def add(
        interaction: discord.Interaction, text: app_commands.Range[str, 1, limits.MAX_INPUT]
    ) -> None:
        result = await quotes.add(
            _guild(interaction), interaction.user.id, interaction.user.display_name, text
        )
        public = result.status == "added"
        embeds = [render.quote_embed(result.quote)] if public and result.quote else []
        await reply(interaction, add_result_text(result), embeds=embeds, ephemeral=not public)

    @group.command(name="list", description="Saved quotes, newest first, 10 per page")
    @app_commands.describe(page="Page number (default 1)")
    async def list_quotes(
        interaction: discord.Interaction, page: app_commands.Range[int, 1, 100000] = 1
    ) -> None:
        result = await quotes.list_page(_guild(interaction), max(1, page))
        if not result.total:
            await reply(interaction, _EMPTY, ephemeral=True)
            return
        title = f"Saved quotes — page {result.page} of {result.pages}"
        footer = f"{result.total} quotes · /quote list page:<n> for more"
        embed = render.quote_list_embed(title, result.quotes, footer)
        await reply(interaction, embeds=[embed])

    @group.command(name="random", description="Show a random saved quote")
    async def random_quote(interaction: discord.Interaction) -> None:
        quote = await quotes.random(_guild(interaction))
        if quote is None:
            await reply(interaction, _EMPTY, ephemeral=True)
            return
        await reply(interaction, embeds=[render.quote_embed(quote)])

    @group.command(name="show", description="Show one saved quote by its number")
    @app_commands.describe(number="The quote number, as shown by /quote list")
    async def show(
        interaction: discord.Interaction, number: app_commands.Range[int, 1, MAX_NUMBER]
    ) -> None:
        valid = 1 <= number <= MAX_NUMBER
        quote = await quotes.show(_guild(interaction), number) if valid else None
        if quote is None:
            await reply(interaction, _no_such_quote(number), ephemeral=True)
            return
        await reply(interaction, embeds=[render.quote_embed(quote)])

    @group.command(name="search", description="Find saved quotes containing some words")
    @app_commands.describe(text="Words to look for")
    async def search(
        interaction: discord.Interaction, text: app_commands.Range[str, 1, limits.MAX_INPUT]
    ) -> None:
        result = await quotes.search(_guild(interaction), text)
        if result.message:
            await reply(interaction, result.message, ephemeral=True)
            return
        shown = limits.truncate(render.escape(result.query), 100)
        if not result.quotes:
            await reply(interaction, f"No saved quote contains “{shown}”.", ephemeral=True)
            return
        embed = render.quote_list_embed(f"Quotes containing “{shown}”", result.quotes)
        await reply(interaction, embeds=[embed])

    @group.command(name="remove", description="Remove a quote you saved (moderators: any quote)")
    @app_commands.describe(number="The quote number, as shown by /quote list")
    async def remove(
        interaction: discord.Interaction, number: app_commands.Range[int, 1, MAX_NUMBER]
    ) -> None:
        if not 1 <= number <= MAX_NUMBER:
            await reply(interaction, _no_such_quote(number), ephemeral=True)
            return
        can_manage = interaction.guild_id is not None and interaction.permissions.manage_messages
        result = await quotes.remove(_guild(interaction), number, interaction.user.id, can_manage)
        if result.status == "not_found":
            await reply(interaction, _no_such_quote(number), ephemeral=True)
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

    return group


_EMPTY = "No quotes saved here yet. Save one with `/quote add` or the 📌 button under `/ask`."


def _no_such_quote(number: int) -> str:
    return f"There is no quote #{number} here (it may have been removed). See `/quote list`."


def _guild(interaction: discord.Interaction) -> int:
    """Quotes are per server; DMs share collection 0."""
    return interaction.guild_id or 0


async def _ask(
    bot: QuoteBot,
    interaction: discord.Interaction,
    question: str,
    results: int,
    interview: str | None = None,
) -> None:
    # Discord enforces the option limits in its client; a raw or stale request may not.
    if len(question) > limits.MAX_INPUT:
        await reply(
            interaction,
            f"That question is {len(question)} characters long; please keep it to "
            f"{limits.MAX_INPUT} or fewer.",
            ephemeral=True,
        )
        return
    if not 1 <= results <= MAX_RESULTS:
        await reply(interaction, f"results must be between 1 and {MAX_RESULTS}.", ephemeral=True)
        return
    from bot.library import QueryError

    # This question (and its More button) keeps the library it started with, so a /reload in
    # between cannot shift its pages or drop the interview it was restricted to.
    library = bot.library
    scope = ""
    if interview is not None and interview.strip():
        transcript = resolve_interview(library.transcripts, interview)
        if transcript is None:
            await reply(interaction, unknown_interview_text(library, interview), ephemeral=True)
            return
        interview, scope = transcript.id, transcript.title
    else:
        interview = None
    try:
        answer = library.ask(question, top=results, interview=interview)
    except QueryError as exc:
        await reply(interaction, str(exc), ephemeral=True)
        return
    message = render.answer_message(
        answer, scope=scope, interviews=len(library.transcripts)
    )
    if not answer.answered:
        await reply(interaction, message["content"])
        return
    view = AskView(
        ask=lambda offset: library.ask(question, top=results, interview=interview, offset=offset),
        quotes=bot.quotes,
        asker_id=interaction.user.id,
        answer=answer,
        per_page=results,
        timeout=bot.button_timeout,
        scope=scope,
    )
    view.origin = interaction
    await reply(interaction, message["content"], embeds=message["embeds"], view=view)


def resolve_interview(transcripts: Sequence[Any], wanted: str) -> Any | None:
    """The transcript meant by an ``interview`` option: its id (what autocomplete sends), else
    its title typed out, else a unique piece of a title or id (people may not pick a choice)."""
    wanted = wanted.strip()
    if not wanted or len(wanted) > MAX_INTERVIEW_INPUT:
        return None
    for transcript in transcripts:
        if transcript.id == wanted:
            return transcript
    folded = wanted.removesuffix(limits.ELLIPSIS).casefold()
    for transcript in transcripts:
        if transcript.title.casefold() == folded or transcript.id.casefold() == folded:
            return transcript
    if not folded:
        return None
    found = [
        t for t in transcripts if folded in t.title.casefold() or folded in t.id.casefold()
    ]
    return found[0] if len(found) == 1 else None


def unknown_interview_text(library: Any, wanted: str) -> str:
    shown = limits.truncate(render.escape(wanted.strip()), 100)
    listing = "\n".join(
        f"• {limits.truncate(render.escape(t.title), 150)}" for t in library.transcripts[:20]
    )
    return (
        f"There is no interview called “{shown}”. Pick one from the list as you type, or "
        f"leave the option empty to search them all. Interviews:\n{listing}"
    )


def find_section(topics: list[Any], wanted: str) -> tuple[Any, Any] | None:
    """The section named ``wanted``: an autocomplete key (``<interview id>#<n>``), its exact
    title, else a unique prefix (autocomplete values are cut to 100 characters) or a unique
    case-insensitive substring."""
    pairs = [(t, s) for t in topics for s in t.sections]
    wanted = wanted.strip()
    interview_id, sep, number = wanted.rpartition(render.SECTION_KEY_SEP)
    if sep and number.isdigit():
        for topic in topics:
            if topic.id == interview_id and int(number) < len(topic.sections):
                return topic, topic.sections[int(number)]
    for pair in pairs:
        if pair[1].title == wanted:
            return pair
    stem = wanted.removesuffix(limits.ELLIPSIS).casefold()
    if not stem:
        return None
    for test in (str.startswith, str.__contains__):
        found = [p for p in pairs if test(p[1].title.casefold(), stem)]
        if len(found) == 1:
            return found[0]
    return None


async def _topics(bot: QuoteBot, interaction: discord.Interaction, section: str | None) -> None:
    topics = bot.library.topics()
    if not section:
        if len(topics) > 1:
            await reply(
                interaction, render.interviews_text(topics), embeds=render.library_embeds(topics)
            )
        else:
            await reply(interaction, embeds=render.topics_embeds(topics))
        return
    if len(section) > limits.MAX_INPUT:
        await reply(interaction, "That section name is too long.", ephemeral=True)
        return
    found = find_section(topics, section)
    if found is None:
        names = [render.section_choice_name(t, s, len(topics) > 1)
                 for t in topics for s in t.sections]
        listing = "\n".join(f"• {render.escape(n)}" for n in names[:20])
        shown = limits.truncate(render.escape(section), 100)
        await reply(
            interaction,
            f"There is no section called “{shown}”. Sections:\n{listing}",
            ephemeral=True,
        )
        return
    await reply(interaction, embeds=[render.section_embed(*found)])


async def _reload(bot: QuoteBot, interaction: discord.Interaction) -> None:
    """Load the data dir afresh and serve it, or change nothing and say why.

    The load runs in a worker thread (it may tokenise for seconds); the swap is one assignment
    on the event loop, made only after the new library is complete and warmed up.
    """
    if interaction.guild_id is None:
        await reply(interaction, "That command only works in a server, not in DMs.",
                    ephemeral=True)
        return
    permissions = interaction.permissions
    if not (permissions.manage_guild or permissions.administrator):
        await reply(
            interaction,
            "Sorry, only members with the Manage Server permission can reload the interviews.",
            ephemeral=True,
        )
        return
    if bot.reload_lock.locked():
        await reply(interaction, "A reload is already running; try again when it has finished.",
                    ephemeral=True)
        return
    async with bot.reload_lock:
        await interaction.response.defer(ephemeral=True, thinking=True)
        old = bot.library
        try:
            new = await asyncio.to_thread(load_library, bot.config.data_dir)
        except Exception as exc:  # noqa: BLE001 - any failure must leave the old library serving
            expected = isinstance(exc, ValueError | OSError) or _is_library_error(exc)
            if expected:
                log.warning("/reload failed: %s", exc)
                problem = render.one_line(_without_data_dir(str(exc), bot.config.data_dir))
            else:
                log.exception("/reload failed unexpectedly")
                problem = "An unexpected error happened (it has been logged)."
            await reply(interaction, render.reload_failed_text(problem, old), ephemeral=True)
            return
        bot.library = new
        log.info("reloaded the library: %d interviews, %d passages",
                 len(new.transcripts), len(new.passages))
        await reply(interaction, render.reload_text(new), ephemeral=True)


def _without_data_dir(message: str, data_dir: Path | None) -> str:
    """File names relative to the data dir: server admins need the file and line, not the
    host's directory layout (the log keeps the full path for the operator)."""
    if data_dir is None:
        return message
    return message.replace(f"{data_dir}{os.sep}", "")


def _is_library_error(exc: Exception) -> bool:
    from bot.library import LibraryError

    return isinstance(exc, LibraryError)


def load_library(data_dir: Path | None) -> Any:
    """A fully loaded, warmed-up library (blocking: call it in a worker thread)."""
    from bot.library import Library

    library = Library.load(data_dir)
    _warm_up(library)
    return library


# ---- building and running -------------------------------------------------------------------


def _warm_up(library: Any) -> None:
    """Pay one-off costs (tokenizer dictionary, table of contents, quote index) at startup,
    not inside the first interaction, where they would stall the event loop."""
    try:
        library.topics()
        library.find_quote("warm up")
    except Exception:  # warming is an optimisation; a real failure will show on use
        log.warning("warm-up failed", exc_info=True)


def _settle_heap() -> None:
    """Move everything loaded so far (index, tokenizer dictionary) out of the garbage
    collector's sight. These objects live as long as the process, yet a full collection walks
    all of them: measured at ~100 ms, an event-loop stall in the middle of serving. ``freeze``
    is the standard remedy for long-lived servers (CPython >= 3.7)."""
    gc.collect()
    gc.freeze()


def create_bot(
    config: Config | None = None,
    *,
    library: Any = None,
    store: QuoteBackend | QuoteStore | None = None,
    button_timeout: float = BUTTON_TIMEOUT,
) -> QuoteBot:
    """A client with every command on ``bot.tree``, built from ``config`` (default: the
    environment). Does not connect and needs no token."""
    config = config or load_config()
    if library is None:
        from bot.library import Library

        library = Library.load(config.data_dir)
    if store is None:
        store = make_quote_backend(config.db_target)  # SQLite is checked now, before login
    elif isinstance(store, QuoteStore):
        store = SQLiteQuoteBackend(store)
    _warm_up(library)
    _settle_heap()
    holder = LibraryHolder(library)
    return QuoteBot(config, holder, QuoteService(holder, store), button_timeout=button_timeout)


def run_bot(config: Config | None = None) -> None:
    """Connect to Discord and serve until stopped. Commands are not synced here (that is
    ``quotebot sync``: syncing on every start hits Discord's rate limits)."""
    config = config or load_config()
    token = config.require_token()
    bot = create_bot(config)
    # Let the CLI's logging setup win when there is one; otherwise discord.py's default.
    handler = None if logging.getLogger().handlers else discord.utils.MISSING
    bot.run(token, log_handler=handler)


async def sync_commands_async(
    config: Config, *, bot: QuoteBot | None = None
) -> list[app_commands.AppCommand]:
    """Log in, register the commands (on DISCORD_GUILD_ID if set, else globally), log out."""
    token = config.require_token()
    bot = bot or create_bot(config)
    try:
        await bot.login(token)
        if config.guild_id:
            guild = discord.Object(id=config.guild_id)
            bot.tree.copy_global_to(guild=guild)
            synced = await bot.tree.sync(guild=guild)
            log.info("synced %d commands to guild %d", len(synced), config.guild_id)
        else:
            synced = await bot.tree.sync()
            log.info("synced %d global commands (may take up to an hour to appear)", len(synced))
        return synced
    finally:
        await bot.close()


def sync_commands(config: Config | None = None) -> list[str]:
    """Blocking wrapper for the CLI; returns the synced command names."""
    config = config or load_config()
    config.require_token()
    synced = asyncio.run(sync_commands_async(config))
    return [command.name for command in synced]
