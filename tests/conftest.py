"""Shared fixtures: the real library (built once per session) and a real discord.py bot
wired to a fake Discord REST API on 127.0.0.1 (see tests/frontends/discord/fake_discord.py)."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import discord
import pytest
import pytest_asyncio

from bot.formats.datadir import APP_NAME
from bot.library import Library
from bot.search import semantic
from tests.frontends.discord.fake_discord import FakeDiscord
from tests.paths import DATA_DIR, REPO, copy_bundled
from tests.quotes.backends import backend, open_backend, pg_url, store_target  # noqa: F401


@pytest.fixture(autouse=True)
def english_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI and console speak the terminal's language; tests run in English unless they set
    ``LANG`` themselves, whatever the machine's locale."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LC_CTYPE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


@pytest.fixture
def interruptible_children() -> Iterator[None]:
    """Child processes started meanwhile take SIGINT as from a terminal's Ctrl-C, even when
    pytest itself runs with SIGINT ignored (a background job, ``pytest &``; some CI runners):
    an ignored SIGINT is inherited, and the children would never see the signal."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def pytest_configure(config: pytest.Config) -> None:
    """Hypothesis and the passage-vector memo keep their files in a temp dir, not in the
    checkout (nor the user's cache)."""
    from hypothesis import configuration

    if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        configuration.set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "quotebot-hypothesis")
    # Passage vectors by text hash, shared by every build of the session and its
    # subprocesses (and the next session): each text is embedded once, not per data copy.
    os.environ.setdefault(semantic.MEMO_ENV, str(Path(tempfile.gettempdir()) / "quotebot-vectors"))


# What the user cache dir keeps between runs: files that take seconds to make and depend only
# on the installed packages (jieba's dictionary, CC-CEDICT's parse), keyed or checked as such.
KEPT_BETWEEN_RUNS = ("jieba", "cedict-*.marshal")


@pytest.fixture(scope="session", autouse=True)
def isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test writes into the checkout or the real home: the user data dir (where
    `ingest --add` goes by default) is the session's, and so is the user cache dir, except for
    `KEPT_BETWEEN_RUNS`: the cache dir is a temp folder of this checkout emptied of everything
    else (index caches of read-only data dirs, ...) at the start of each session, so only the
    machine's first run reads jieba's dictionary and CC-CEDICT from scratch."""
    base = tmp_path_factory.getbasetemp()
    checkout = hashlib.sha256(str(REPO).encode()).hexdigest()[:12]
    cache_home = base.parent / f"quotebot-xdg-cache-{checkout}"
    ours = cache_home / APP_NAME
    if ours.is_dir():
        kept = {p for pattern in KEPT_BETWEEN_RUNS for p in ours.glob(pattern)}
        for item in set(ours.iterdir()) - kept:
            if item.is_dir() and not item.is_symlink():
                shutil.rmtree(item)
            else:
                item.unlink()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(base / "xdg-data"))
        patch.setenv("XDG_CACHE_HOME", str(cache_home))
        patch.delenv("QUOTEBOT_DATA_DIR", raising=False)
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        before = sorted(p.name for p in DATA_DIR.iterdir())
        yield
    # Checked once the whole session ran: no test wrote into the checkout's data/ (an index
    # cache beside it, a stray add).
    assert sorted(p.name for p in DATA_DIR.iterdir()) == before, "a test wrote into data/"


@pytest.fixture(scope="session")
def seed_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Library, Path]:
    """The bundled interview, built once per session (a fresh build, never a cache load), and
    the index cache that build wrote (in the session's temp dir, never the checkout's data/)."""
    cache = tmp_path_factory.getbasetemp() / "seed-index"
    return Library.load(DATA_DIR, cache_dir=cache), cache


@pytest.fixture(scope="session")
def library(seed_build: tuple[Library, Path]) -> Library:
    """The bundled interview's library, shared by every test that only reads it."""
    return seed_build[0]


@pytest.fixture(scope="session")
def seed_index(seed_build: tuple[Library, Path]) -> Path:
    """The session build's index cache (read-only: copy it before changing anything)."""
    return seed_build[1]


@pytest.fixture(scope="session")
def data_copy(tmp_path_factory: pytest.TempPathFactory, seed_index: Path) -> Path:
    """The bundled data copied once per session, with its warm ``.index``: code that loads a
    data dir (the CLI, `quotebot run`) only reads the cache and writes nothing beside the
    checkout's data/. Treat it as read-only."""
    target = copy_bundled(tmp_path_factory.mktemp("bundled-data"))
    shutil.copytree(seed_index, target / ".index")
    return target


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
def bot_config(tmp_path: Path, data_copy: Path):
    """A /reload reads the session's data copy (its cache is warm), never the checkout."""
    from bot.config import Config

    return Config(token="fake-token", data_dir=data_copy, db_path=tmp_path / "quotes.sqlite3")


@pytest_asyncio.fixture
async def make_bot(fake_discord: FakeDiscord, library, bot_config) -> AsyncIterator[Callable]:
    """``await make_bot(**config_changes)``: a logged-in bot using the fake API and (unless
    ``store=`` is given) a fresh SQLite store in tmp_path; every bot made is closed at the end
    of the test."""
    from dataclasses import replace

    from bot.frontends.discord.client import create_bot
    from bot.quotes.store import QuoteStore

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
