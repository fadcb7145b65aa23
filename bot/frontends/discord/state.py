"""What every command module shares: the library being served, and per-bot cooldowns.

The library lives in one `LibraryHolder`; every command reads ``holder.current`` when it runs,
so ``/reload`` swaps it for all of them (and for the quote service) in one assignment.
"""

from __future__ import annotations

import logging
from pathlib import Path

from discord import app_commands

from bot.config import Config
from bot.library import Library, QuoteMatch

log = logging.getLogger(__name__)


class LibraryHolder:
    """The one reference to the library being served.

    Why a holder: the quote service is built once, yet must check quotes against whatever
    library ``/reload`` installed last. It is given this holder (which quacks like a library for
    ``find_quote``), so replacing ``current`` switches every reader at once, and nothing keeps
    a stale library captured at start-up. Work already running keeps the object it started with.
    """

    def __init__(self, library: Library) -> None:
        self.current = library

    def find_quote(self, text: str) -> QuoteMatch:
        return self.current.find_quote(text)


def add_cooldown(command: app_commands.Command, config: Config) -> None:
    """Limit ``command`` to the configured rate per user, for this bot only.

    The rate comes from the config, so it cannot be a class-level decorator; and a check made
    once per class would share its buckets among every bot in the process. Each cog or group
    instance therefore attaches its own. The command discord.py copies onto an instance shares
    its ``checks`` list with the class's, hence the new list before adding.
    """
    command.checks = list(command.checks)
    app_commands.checks.cooldown(config.cooldown_rate, config.cooldown_per)(command)


def warm_up(library: Library) -> None:
    """Pay one-off costs (tokenizer dictionary, table of contents, quote index) at startup,
    not inside the first interaction, where they would stall the event loop."""
    try:
        library.topics()
        library.find_quote("warm up")
    except Exception:  # warming is an optimisation; a real failure will show on use
        log.warning("warm-up failed", exc_info=True)


def load_library(data_dir: Path | None) -> Library:
    """A fully loaded, warmed-up library (blocking: call it in a worker thread)."""
    library = Library.load(data_dir)
    warm_up(library)
    return library
