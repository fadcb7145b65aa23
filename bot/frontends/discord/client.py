"""The Discord client: QuoteBot, and building, running and syncing it.

The commands live in feature modules, one per concern, each holding its state on ``self``:
`ask.AskCog` (/ask and its buttons), `meta.MetaCog` (/topics, /help, /reload) and
`quotes.QuoteGroup` (/quote …). ``setup_hook`` adds them when the bot logs in.

``create_bot`` builds a client without connecting (tests drive it against a fake Discord API;
the CLI runs it). Every reply goes through ``views.reply``, so mentions are disabled and
Discord's size limits respected everywhere, and every failure ends in an ephemeral message the
person can understand — the interaction is never left unanswered.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
import signal
import sys
from collections.abc import Callable
from dataclasses import replace

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import Config, ConfigError, load_config
from bot.frontends.discord import limits
from bot.frontends.discord.ask import AskCog
from bot.frontends.discord.meta import MetaCog
from bot.frontends.discord.quotes import QuoteGroup
from bot.frontends.discord.state import LibraryHolder, warm_up
from bot.frontends.discord.translate import CatalogTranslator, translations_for
from bot.frontends.discord.views import INTERNAL_ERROR, NO_MENTIONS, reply
from bot.frontends.i18n import Translations
from bot.library import Library
from bot.model import N_
from bot.quotes.backend import QuoteBackend, SQLiteQuoteBackend, make_quote_backend
from bot.quotes.service import QuoteService
from bot.quotes.store import QuoteStore

log = logging.getLogger(__name__)

BUTTON_TIMEOUT = 300.0  # seconds the More / Save buttons keep working

# discord.py warns at every start that voice support is missing ("PyNaCl is not installed,
# voice will NOT be supported", the same for "davey"). This bot has no voice, so those two
# records, and only those, are dropped from the logger that emits them.
VOICE_LOGGER = "discord.client"
VOICE_WARNING_SUFFIX = "voice will NOT be supported"


class _NoVoiceWarnings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.levelno == logging.WARNING
            and str(record.msg).endswith(VOICE_WARNING_SUFFIX)
        )


def silence_voice_warnings() -> None:
    """Install the filter once on discord.py's client logger (idempotent)."""
    logger = logging.getLogger(VOICE_LOGGER)
    if not any(isinstance(f, _NoVoiceWarnings) for f in logger.filters):
        logger.addFilter(_NoVoiceWarnings())

__all__ = [
    "ConfigError",
    "LibraryHolder",
    "QuoteBot",
    "create_bot",
    "load_for_serving",
    "run_bot",
    "run_bots_forked",
    "silence_voice_warnings",
    "sync_commands",
    "sync_commands_async",
]


class QuoteBot(commands.AutoShardedBot):
    """The bot whose ``tree`` holds every slash command; owns the library and quote service.

    A ``commands.AutoShardedBot`` for its cogs only: there are no text commands, the prefix (a
    mention) never reaches the bot because the message content intent stays off, and no help
    command is registered (``/help`` is a slash command).

    Sharded, so one bot can be served by several processes: ``config.shard_count`` is the total
    across all of them and ``config.shard_ids`` this process's share (both unset: the count
    Discord recommends, every shard here). Each process holds its own library and talks to the
    shared quote store; nothing else is shared, so any process can stop without the others
    noticing.
    """

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
        silence_voice_warnings()  # discord.Client.__init__ warns about voice; we have none
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=intents,
            allowed_mentions=NO_MENTIONS,
            allowed_contexts=app_commands.AppCommandContext(
                guild=True, dm_channel=True, private_channel=True
            ),
            shard_count=config.shard_count,
            shard_ids=list(config.shard_ids) if config.shard_ids is not None else None,
        )
        self.config = config
        self.holder = library
        self.quotes = quotes
        self.button_timeout = button_timeout
        self.tree.error(self.on_app_command_error)

    async def login(self, token: str) -> None:
        """Open (connect to, check, migrate) the quote store first: an unreachable or foreign
        database stops the bot with its one-line reason before Discord is contacted."""
        await self.quotes.store.open()
        await super().login(token)

    async def close(self) -> None:
        await super().close()
        await self.quotes.store.close()

    async def setup_hook(self) -> None:
        """Add the commands. discord.py calls this on every login (a sync after a run logs in
        again); the first adds them."""
        if self.cogs:
            return
        await self.tree.set_translator(CatalogTranslator())
        await self.add_cog(
            AskCog(self.holder, self.quotes, self.config, button_timeout=self.button_timeout)
        )
        await self.add_cog(MetaCog(self.holder, self.config))
        self.tree.add_command(QuoteGroup(self.quotes, self.config))

    @property
    def library(self) -> Library:
        """The library to use *now*; read it at call time, never keep it past one request."""
        return self.holder.current

    @library.setter
    def library(self, library: Library) -> None:
        self.holder.current = library

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Turn any failure into an ephemeral explanation; log the unexpected ones."""
        if interaction.type is discord.InteractionType.autocomplete:
            log.error("autocomplete failed", exc_info=error)
            return
        t = translations_for(interaction)
        message = explain_error(t, error)
        if message is None:
            command = interaction.command.qualified_name if interaction.command else "?"
            log.error("/%s failed", command, exc_info=error)
            message = t.gettext(INTERNAL_ERROR)
        try:
            await reply(interaction, message, ephemeral=True)
        except discord.HTTPException:
            log.exception("could not tell the user about an error")


# Discord's permission names as its client shows them; others are shown title-cased.
PERMISSION_NAMES = {
    "manage_guild": N_("Manage Server"),
    "manage_messages": N_("Manage Messages"),
    "administrator": N_("Administrator"),
}


def explain_error(t: Translations, error: app_commands.AppCommandError) -> str | None:
    """A user-facing sentence for expected errors; None for internal failures."""
    _ = t.gettext
    if isinstance(error, app_commands.CommandOnCooldown):
        wait = max(1, math.ceil(error.retry_after))
        return _("You're going a bit fast: please wait {seconds} s and try again.").format(
            seconds=wait
        )
    if isinstance(error, app_commands.MissingPermissions):
        needed = ", ".join(
            _(PERMISSION_NAMES[p]) if p in PERMISSION_NAMES else p.replace("_", " ").title()
            for p in error.missing_permissions
        )
        return _("You need the {permission} permission to do that.").format(permission=needed)
    if isinstance(error, app_commands.NoPrivateMessage):
        return _("That command only works in a server, not in DMs.")
    if isinstance(error, app_commands.CheckFailure):
        return _("You can't use that command here.")
    if isinstance(error, app_commands.TransformerError):
        value = limits.truncate(str(error.value), 50)
        return _(
            "That value ({value}) isn't valid for this option; please check it and retry."
        ).format(value=value)
    if isinstance(error, app_commands.CommandNotFound | app_commands.CommandSignatureMismatch):
        return _(
            "This command has changed since it was registered. Please try again later "
            "(the bot owner needs to run `quotebot sync`)."
        )
    return None


# ---- building and running -------------------------------------------------------------------


def _settle_heap() -> None:
    """Move everything loaded so far (index, tokenizer dictionary) out of the garbage
    collector's sight. These objects live as long as the process, yet a full collection walks
    all of them: measured at ~100 ms, an event-loop stall in the middle of serving. ``freeze``
    is the standard remedy for long-lived servers (CPython >= 3.7)."""
    gc.collect()
    gc.freeze()


# How long a thread may hold the GIL while another waits (CPython's default is 5 ms). Quote
# and search calls run in worker threads; with the default, the event loop waits up to 5 ms
# for the GIL after each of its many socket calls and stalled 200-350 ms in the 500-
# interaction load test (20-85 ms at 0.5 ms; 20-35 ms when quote calls ran on the loop).
GIL_SWITCH_INTERVAL = 0.0005


def create_bot(
    config: Config | None = None,
    *,
    library: Library | None = None,
    store: QuoteBackend | QuoteStore | None = None,
    button_timeout: float = BUTTON_TIMEOUT,
) -> QuoteBot:
    """A bot built from ``config`` (default: the environment), its commands added to
    ``bot.tree`` when it logs in. Does not connect and needs no token."""
    config = config or load_config()
    if library is None:
        library = Library.load(config.data_dir)
    if store is None:
        store = make_quote_backend(config.db_target)  # SQLite is checked now, before login
    elif isinstance(store, QuoteStore):
        store = SQLiteQuoteBackend(store)
    warm_up(library)
    _settle_heap()
    sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_INTERVAL))
    holder = LibraryHolder(library)
    return QuoteBot(config, holder, QuoteService(holder, store), button_timeout=button_timeout)


def run_bot(config: Config | None = None, *, library: Library | None = None) -> None:
    """Connect to Discord and serve this process's shards until stopped. Commands are never
    synced here (that is ``quotebot sync``): syncing on every start hits Discord's rate limits,
    and with several processes serving one bot, one step must own the command list.

    ``library``: one already loaded (by the parent of forked processes); else it is loaded
    here. SIGTERM, like Ctrl-C, closes the bot (shards, then the quote store) and returns."""
    config = config or load_config()
    token = config.require_token()
    bot = create_bot(config, library=library)
    if config.shard_count is not None:
        shards = config.shard_ids if config.shard_ids is not None else range(config.shard_count)
        log.info("serving shards %s of %d", ",".join(map(str, shards)), config.shard_count)
    # Let the CLI's logging setup win when there is one; otherwise discord.py's default.
    if not logging.getLogger().handlers:
        discord.utils.setup_logging()
    closing: list[asyncio.Task[None]] = []

    async def runner() -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows
            loop.add_signal_handler(
                signal.SIGTERM, lambda: closing.append(loop.create_task(bot.close()))
            )
        async with bot:
            await bot.start(token)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(runner())


def load_for_serving(config: Config) -> Library:
    """The library, loaded and warmed up, and the SQLite quote file checked (and migrated):
    what forked processes share. Starts no thread, so the caller may fork afterwards; a
    PostgreSQL store is only connected to by each process after the fork (a connection must
    never cross one)."""
    library = Library.load(config.data_dir)
    warm_up(library)
    if config.db_url is None:
        QuoteStore(config.db_path).close()
    return library


def run_bots_forked(config: Config, serve: Callable[[Config], int]) -> int:
    """``serve`` in ``config.processes`` forked processes, each given the config of its group
    of shards (`Config.shard_groups`); call after `load_for_serving`, before any thread or
    event loop starts. SIGTERM and SIGINT are passed on to every process. Returns 0 once all
    have stopped cleanly, else the first failure's exit status."""
    from bot.forked import serve_forked

    groups = config.shard_groups() or []
    if len(groups) != config.processes:
        raise ConfigError("several processes need QUOTEBOT_SHARD_COUNT")
    log.info("forking %d processes for shards %s", len(groups),
             " | ".join(",".join(map(str, group)) for group in groups))
    return serve_forked(
        len(groups), lambda number: serve(replace(config, shard_ids=groups[number], processes=1))
    )


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
