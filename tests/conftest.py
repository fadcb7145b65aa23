"""Shared fixtures: the real library (loaded once) and a real discord.py bot wired to a fake
Discord REST API on 127.0.0.1 (see tests/fake_discord.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import discord
import pytest
import pytest_asyncio

from tests.fake_discord import FakeDiscord

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="session", autouse=True)
def isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory):
    """No test writes into the checkout or the real home: the user data dir (where
    `ingest --add` goes by default) and the cache dir (index, jieba) are temporary. The cache
    dir is shared by the runs of this machine (jieba's dictionary takes a second to build)."""
    import os

    base = tmp_path_factory.getbasetemp()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(base / "xdg-data"))
        patch.setenv("XDG_CACHE_HOME", str(base.parent / "quotebot-xdg-cache"))
        patch.delenv("QUOTEBOT_DATA_DIR", raising=False)
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        yield


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
    """``await make_bot(**config_changes)``: a logged-in bot using the fake API and a fresh
    SQLite store in tmp_path; every bot made is closed at the end of the test."""
    from dataclasses import replace

    from bot.discord_app import create_bot
    from bot.quote_store import QuoteStore

    bots = []
    stores = []

    async def make(button_timeout: float = 300.0, **changes):
        config = replace(bot_config, **changes)
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
