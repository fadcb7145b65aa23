"""Shared fixtures: the real library (loaded once) and a real discord.py bot wired to a fake
Discord REST API on 127.0.0.1 (see tests/fake_discord.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import discord
import pytest
import pytest_asyncio

from tests.fake_discord import FakeDiscord
from tests.quote_backends import backend, open_backend, pg_url, store_target  # noqa: F401

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="session")
def library(tmp_path_factory: pytest.TempPathFactory):
    """The bundled interview, indexed once per test session (the index is read-only).

    The index cache goes to the session's temp dir (shared with the core tests), never into
    the checkout's data/.
    """
    from bot.library import Library

    return Library.load(DATA_DIR, cache_dir=tmp_path_factory.getbasetemp() / "seed-index")


@pytest_asyncio.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """A running fake Discord with discord.py's REST base URL pointed at it (and restored)."""
    fake = FakeDiscord()
    await fake.start()
    original = discord.http.Route.BASE
    discord.http.Route.BASE = fake.base_url
    try:
        yield fake
    finally:
        discord.http.Route.BASE = original
        await fake.stop()
    # Checked after every test that talks to it: Discord would have refused these.
    assert fake.violations == [], fake.violations
    assert fake.unknown_routes == [], fake.unknown_routes
    for body in fake.message_bodies():
        assert body.get("allowed_mentions") == {"parse": []}, body


@pytest.fixture
def bot_config(tmp_path: Path):
    from bot.config import Config

    return Config(token="fake-token", data_dir=DATA_DIR, db_path=tmp_path / "quotes.sqlite3")


@pytest_asyncio.fixture
async def make_bot(fake_discord: FakeDiscord, library, bot_config) -> AsyncIterator[Callable]:
    """``await make_bot(**config_changes)``: a logged-in bot using the fake API and (unless
    ``store=`` is given) a fresh SQLite store in tmp_path; every bot made is closed at the end
    of the test."""
    from dataclasses import replace

    from bot.discord_app import create_bot
    from bot.quote_store import QuoteStore

    bots = []
    stores = []

    async def make(button_timeout: float = 300.0, store=None, **changes):
        """``store``: a quote store to use instead (e.g. the ``backend`` fixture's)."""
        config = replace(bot_config, **changes)
        if store is None:
            store = QuoteStore(config.db_path)
            stores.append(store)
        bot = create_bot(config, library=library, store=store, button_timeout=button_timeout)
        bots.append(bot)
        await bot.login(config.token)
        return bot

    yield make
    for bot in bots:
        await bot.close()
    for store in stores:
        store.close()
