"""The one interface every quote store implements, and the choice of store from a setting.

Why an interface: the quote rules (verified words only, duplicates reported, only the saver or a
moderator removes) live once, in :class:`bot.quotes.service.QuoteService`; a store only keeps
quotes. Two stores implement it and behave identically (tests/quotes/test_store_contract.py runs
the same tests on both):

* SQLite (:class:`bot.quotes.store.QuoteStore`, wrapped by :class:`SQLiteQuoteBackend`): one
  file, the embedded default, right for one process on one machine.
* PostgreSQL (:class:`bot.quotes.postgres.PostgresQuoteStore`): one database shared by several
  bot processes on several machines.

The interface is async so a network database never blocks the event loop; the SQLite store is
synchronous and runs each call in a worker thread.

``QUOTEBOT_DB`` selects the store (see :func:`parse_db_setting`): a file path or
``sqlite:///path`` means SQLite, ``postgresql://…`` or ``postgres://…`` means PostgreSQL, and any
other ``scheme://`` is refused with one line.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol, TypeVar

from bot.quotes.store import NewQuote, QuoteStore, QuoteStoreError, StoredQuote

POSTGRES_SCHEMES = ("postgresql", "postgres")
SQLITE_PREFIX = "sqlite:///"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_T = TypeVar("_T")


class QuoteBackend(Protocol):
    """Saved quotes of every guild. ``guild_id`` 0 is DMs/the console.

    Every backend keeps these rules: a guild's numbers start at 1, go up by one and are never
    reused (not even after the newest quote is removed); ``add`` with a ``key`` the guild already
    has live returns ``(that quote, False)``; removal only hides a quote; lists are newest first.
    Bad arguments raise ``ValueError``; a store that cannot be used raises
    :class:`~bot.quotes.store.QuoteStoreError` with a one-line message.
    """

    #: Where the quotes are, for messages (never includes a password).
    where: str

    async def open(self) -> None:
        """Connect, check and migrate; safe to call more than once."""

    async def add(
        self,
        guild_id: int,
        quote: NewQuote,
    ) -> tuple[StoredQuote, bool]: ...

    async def get(self, guild_id: int, number: int) -> StoredQuote | None: ...

    async def page(
        self, guild_id: int, page: int, per_page: int = 10
    ) -> tuple[list[StoredQuote], int]: ...

    async def random(self, guild_id: int) -> StoredQuote | None: ...

    async def search(self, guild_id: int, text: str, limit: int = 10) -> list[StoredQuote]: ...

    async def remove(
        self, guild_id: int, number: int, *, removed_by: int | None = None
    ) -> StoredQuote | None: ...

    async def count(self, guild_id: int) -> int: ...

    async def close(self) -> None:
        """Release the file or connections; safe to call twice."""


class SQLiteQuoteBackend:
    """:class:`QuoteBackend` over the SQLite :class:`QuoteStore`, each call in a worker thread.

    One thread of its own: the store has one connection behind one lock, so more threads would
    only queue on it, and the shared default executor stays free for searches. The file is
    opened (and refused if it is not a quote store) when this object is made, so a bad file
    stops the bot before it connects to Discord.
    """

    def __init__(self, store: QuoteStore) -> None:
        self.store = store
        self.where = str(store.path)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="quote-store")
        self._closed = False

    async def _call(self, func: Callable[..., _T], /, *args: object, **kwargs: object) -> _T:
        if self._closed:  # the thread is gone; a closed store answers at once (QuoteStoreError)
            return func(*args, **kwargs)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, functools.partial(func, *args, **kwargs))

    @classmethod
    def at(cls, path: Path | str) -> SQLiteQuoteBackend:
        return cls(QuoteStore(path))

    async def open(self) -> None:
        return None  # opened and checked in QuoteStore.__init__

    async def add(
        self,
        guild_id: int,
        quote: NewQuote,
    ) -> tuple[StoredQuote, bool]:
        return await self._call(self.store.add, guild_id, quote)

    async def get(self, guild_id: int, number: int) -> StoredQuote | None:
        return await self._call(self.store.get, guild_id, number)

    async def page(
        self, guild_id: int, page: int, per_page: int = 10
    ) -> tuple[list[StoredQuote], int]:
        return await self._call(self.store.page, guild_id, page, per_page)

    async def random(self, guild_id: int) -> StoredQuote | None:
        return await self._call(self.store.random, guild_id)

    async def search(self, guild_id: int, text: str, limit: int = 10) -> list[StoredQuote]:
        return await self._call(self.store.search, guild_id, text, limit)

    async def remove(
        self, guild_id: int, number: int, *, removed_by: int | None = None
    ) -> StoredQuote | None:
        return await self._call(self.store.remove, guild_id, number, removed_by=removed_by)

    async def count(self, guild_id: int) -> int:
        return await self._call(self.store.count, guild_id)

    async def close(self) -> None:
        if self._closed:
            return
        await self._call(self.store.close)
        self._closed = True
        self._thread.shutdown(wait=False)


def parse_db_setting(raw: str) -> Path | str:
    """``QUOTEBOT_DB`` → a SQLite file ``Path`` or a PostgreSQL URL ``str``.

    ``sqlite:///quotes.db`` is relative and ``sqlite:////var/lib/quotes.db`` absolute (the
    SQLAlchemy convention). Raises ``ValueError`` (one line) for any other ``scheme://``.
    """
    raw = raw.strip()
    if raw.startswith(SQLITE_PREFIX):
        rest = raw[len(SQLITE_PREFIX):]
        if not rest:
            raise ValueError("QUOTEBOT_DB=sqlite:/// needs a file path, e.g. sqlite:///quotes.db")
        return Path(rest).expanduser()
    match = _SCHEME.match(raw)
    if match is None:
        return Path(raw).expanduser()
    scheme = match.group(1).lower()
    if scheme in POSTGRES_SCHEMES:
        return raw
    raise ValueError(
        f"QUOTEBOT_DB: unsupported database {scheme}://; use a file path, sqlite:///path "
        "or postgresql://user@host/dbname"
    )


def make_quote_backend(target: Path | str) -> QuoteBackend:
    """The store for a parsed setting. SQLite is opened now; PostgreSQL on ``await open()``."""
    if isinstance(target, Path):
        return SQLiteQuoteBackend.at(target)
    from bot.quotes.postgres import PostgresQuoteStore

    return PostgresQuoteStore(target)


__all__ = [
    "QuoteBackend",
    "QuoteStoreError",
    "SQLiteQuoteBackend",
    "make_quote_backend",
    "parse_db_setting",
]
