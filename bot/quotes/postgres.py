"""Saved quotes in PostgreSQL, shared by any number of bot processes on any number of machines.

It keeps the rules of the SQLite store (:mod:`bot.quotes.store`) and implements the same
:class:`bot.quotes.backend.QuoteBackend` interface:

* **Numbers are never reused.** ``guild_counters`` holds the last number handed out per guild.
  ``add`` locks that row first (an ``INSERT … ON CONFLICT DO UPDATE`` that changes nothing but
  takes the row lock), so concurrent writers for one guild, in any process, queue there and each
  gets the next number; a rolled-back add consumes none.
* **Duplicates are refused** by a partial unique index on live ``(guild_id, key)``; under the
  counter lock the duplicate check sees every committed quote, so the index is a last line.
* **Removal is soft**: ``removed_at``/``removed_by`` are set, the row stays.
* **Versioned schema**: ``quotebot_schema`` holds the version; each migration runs in its own
  transaction with the version bump, under a transaction-level advisory lock so two processes
  starting together migrate once. A database (schema) that has our table names but no
  version, or a newer version than this code knows, is refused untouched.

Calls never block the event loop: psycopg 3's async connections from an
``AsyncConnectionPool``. Which schema is used is the connection's ``search_path`` (add
``?options=-csearch_path%3Dquotebot`` to the URL to keep the tables out of ``public``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timezone

import psycopg
from psycopg import AsyncConnection
from psycopg.abc import Params
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from bot.quotes.store import (
    LIVE,
    QUOTE_COLUMNS,
    NewQuote,
    QuoteStoreError,
    StoredQuote,
    check_new_quote,
    check_page,
    escape_like,
    search_limit,
    utc_now,
)

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0
# Any constant that other programs are unlikely to use as an advisory lock key ("quotebot").
MIGRATION_LOCK_KEY = 0x71756F7465626F74

Migration = Callable[[AsyncConnection[TupleRow]], Awaitable[None]]


# --- schema migrations -----------------------------------------------------------------------
# Migration N (1-based position in MIGRATIONS) moves the schema from version N-1 to N, in the
# transaction that records the new version. To change the schema, append; never edit one that
# has shipped. Keep the meaning in step with bot.quotes.store.MIGRATIONS.


async def _migration_1_initial(conn: AsyncConnection[TupleRow]) -> None:
    await conn.execute(
        """
        CREATE TABLE quotes (
            guild_id      BIGINT      NOT NULL,
            number        BIGINT      NOT NULL,
            passage_id    TEXT        NOT NULL,
            text          TEXT        NOT NULL,
            key           TEXT        NOT NULL,
            speaker       TEXT        NOT NULL,
            section       TEXT        NOT NULL,
            link          TEXT        NOT NULL,
            saved_by      BIGINT      NOT NULL,
            saved_by_name TEXT        NOT NULL,
            saved_at      TIMESTAMPTZ NOT NULL,
            removed_at    TIMESTAMPTZ,
            removed_by    BIGINT,
            PRIMARY KEY (guild_id, number)
        )
        """
    )
    await conn.execute(
        "CREATE UNIQUE INDEX quotes_live_key ON quotes (guild_id, key) WHERE removed_at IS NULL"
    )
    await conn.execute(
        """
        CREATE TABLE guild_counters (
            guild_id    BIGINT PRIMARY KEY,
            last_number BIGINT NOT NULL
        )
        """
    )


MIGRATIONS: list[Migration] = [_migration_1_initial]
SCHEMA_VERSION = len(MIGRATIONS)

def _row_to_quote(row: TupleRow) -> StoredQuote:
    return StoredQuote.from_row((*row[:10], row[10].astimezone(timezone.utc)))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def redact_url(url: str) -> str:
    """``postgresql://user@host:port/dbname``: where the database is, without any password."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.Error as exc:
        raise QuoteStoreError(f"Quote store: invalid PostgreSQL URL ({_first_line(exc)})") from None
    user = f"{parts['user']}@" if parts.get("user") else ""
    host = str(parts.get("host") or "")
    if host.startswith("/"):  # a Unix socket directory
        host = f"[{host}]"
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{host}{port}/{parts.get('dbname') or ''}"


class PostgresQuoteStore:
    """Saved quotes of every guild in one PostgreSQL database; one pool per process."""

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 5,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        self.where = redact_url(url)  # also refuses a malformed URL, in one line
        self._url = url
        self._min_size = min_size
        self._max_size = max_size
        self._connect_timeout = connect_timeout
        self._pool: AsyncConnectionPool[AsyncConnection[TupleRow]] | None = None
        self._open_lock = asyncio.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"PostgresQuoteStore({self.where!r})"

    def _error(self, reason: str) -> QuoteStoreError:
        return QuoteStoreError(f"Quote store {self.where}: {reason}")

    # --- opening ------------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect, check the schema and migrate it, then start the pool; idempotent."""
        async with self._open_lock:
            if self._closed:
                raise self._error("is closed")
            if self._pool is not None:
                return
            # One plain connection first: its error says why (refused, no such database, bad
            # password), where a pool would only time out.
            try:
                conn = await AsyncConnection.connect(
                    self._url, autocommit=True, connect_timeout=max(1, int(self._connect_timeout))
                )
            except psycopg.Error as exc:
                raise self._error(f"cannot connect ({_first_line(exc)})") from None
            try:
                await self._migrate(conn)
            except psycopg.Error as exc:
                raise self._error(f"cannot prepare the schema ({_first_line(exc)})") from None
            finally:
                await conn.close()
            pool: AsyncConnectionPool[AsyncConnection[TupleRow]] = AsyncConnectionPool(
                self._url,
                min_size=self._min_size,
                max_size=self._max_size,
                kwargs={"autocommit": True},
                check=AsyncConnectionPool.check_connection,
                timeout=self._connect_timeout,
                name="quotebot",
                open=False,
            )
            try:
                await pool.open(wait=True, timeout=self._connect_timeout)
            except psycopg.Error as exc:
                await pool.close()
                raise self._error(f"cannot connect ({_first_line(exc)})") from None
            self._pool = pool
            log.debug("quote store open at %s (schema version %d)", self.where, SCHEMA_VERSION)

    async def _schema_version(self, conn: AsyncConnection[TupleRow]) -> int:
        """The schema version, after refusing anything we must not touch (read-only)."""
        cur = await conn.execute(
            "SELECT to_regclass('quotebot_schema') IS NOT NULL, "
            "to_regclass('quotes') IS NOT NULL OR to_regclass('guild_counters') IS NOT NULL, "
            "current_schema()"
        )
        row = await cur.fetchone()
        assert row is not None
        has_version, has_tables, schema = row
        if schema is None:
            raise self._error("no schema to create tables in (check search_path); refusing")
        if not has_version:
            if has_tables:
                raise self._error(
                    f"schema {schema} has quotes tables of another program (no quotebot_schema "
                    "table); refusing to touch it"
                )
            return 0
        cur = await conn.execute("SELECT version FROM quotebot_schema")
        rows = await cur.fetchall()
        if len(rows) != 1:
            raise self._error(f"quotebot_schema has {len(rows)} rows, not 1; refusing to touch it")
        version = int(rows[0][0])
        if version > SCHEMA_VERSION:
            raise self._error(
                f"was written by a newer version of the bot (schema {version}, this version "
                f"knows up to {SCHEMA_VERSION}); refusing to touch it"
            )
        if version > 0 and not has_tables:
            raise self._error(
                f"claims schema version {version} but has no quotes table; refusing to touch it"
            )
        return version

    async def _migrate(self, conn: AsyncConnection[TupleRow]) -> None:
        """Apply every migration not applied yet, each in its own locked transaction."""
        while True:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
                # Read under the lock: another process may have migrated meanwhile.
                version = await self._schema_version(conn)
                if version >= SCHEMA_VERSION:
                    return
                if version == 0:
                    await conn.execute(
                        "CREATE TABLE IF NOT EXISTS quotebot_schema ("
                        " one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),"
                        " version INTEGER NOT NULL)"
                    )
                    await conn.execute("INSERT INTO quotebot_schema (version) VALUES (0)")
                await MIGRATIONS[version](conn)
                await conn.execute("UPDATE quotebot_schema SET version = %s", (version + 1,))
            log.info("quote store %s migrated to schema version %d", self.where, version + 1)

    # --- plumbing -----------------------------------------------------------------------------

    @asynccontextmanager
    async def _connection(self, action: str) -> AsyncIterator[AsyncConnection[TupleRow]]:
        """A pooled connection; any database error becomes a one-line QuoteStoreError."""
        if self._pool is None:
            raise self._error("is closed" if self._closed else "is not open yet")
        try:
            async with self._pool.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            raise self._error(f"{action} failed ({_first_line(exc)})") from exc

    async def _fetch_quotes(self, query: str, params: Params) -> list[StoredQuote]:
        async with self._connection("read") as conn:
            cur = await conn.execute(query, params)
            return [_row_to_quote(row) for row in await cur.fetchall()]

    # --- QuoteBackend -------------------------------------------------------------------------

    async def add(
        self,
        guild_id: int,
        quote: NewQuote,
    ) -> tuple[StoredQuote, bool]:
        """Save a quote; ``(existing, False)`` when the guild already has one with this ``key``."""
        check_new_quote(guild_id, quote)
        key = quote.key
        async with self._connection("write") as conn, conn.transaction():
            # Take the guild's counter row lock (creating the row if needed): from here on,
            # writers for this guild are serialised, in every process.
            cur = await conn.execute(
                "INSERT INTO guild_counters AS c (guild_id, last_number) VALUES (%s, 0) "
                "ON CONFLICT (guild_id) DO UPDATE SET last_number = c.last_number "
                "RETURNING last_number",
                (guild_id,),
            )
            counter = await cur.fetchone()
            assert counter is not None
            cur = await conn.execute(
                f"SELECT {QUOTE_COLUMNS} FROM quotes WHERE guild_id = %s AND key = %s AND {LIVE}",
                (guild_id, key),
            )
            existing = await cur.fetchone()
            if existing is not None:
                return _row_to_quote(existing), False
            saved = quote.stored(guild_id, int(counter[0]) + 1, utc_now())
            await conn.execute(
                "UPDATE guild_counters SET last_number = %s WHERE guild_id = %s",
                (saved.number, guild_id),
            )
            await conn.execute(
                f"INSERT INTO quotes ({QUOTE_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                saved.row(),
            )
        log.info("guild %d saved quote #%d (%s)", guild_id, saved.number, quote.passage_id)
        return saved, True

    async def get(self, guild_id: int, number: int) -> StoredQuote | None:
        found = await self._fetch_quotes(
            f"SELECT {QUOTE_COLUMNS} FROM quotes WHERE guild_id = %s AND number = %s AND {LIVE}",
            (guild_id, number),
        )
        return found[0] if found else None

    async def page(
        self, guild_id: int, page: int, per_page: int = 10
    ) -> tuple[list[StoredQuote], int]:
        """Quotes on 1-based ``page``, newest first, and the guild's total; past the end is []."""
        check_page(page, per_page)
        async with self._connection("read") as conn, conn.transaction():
            # One snapshot for both statements, so the total matches the rows.
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cur = await conn.execute(
                f"SELECT COUNT(*) FROM quotes WHERE guild_id = %s AND {LIVE}", (guild_id,)
            )
            total_row = await cur.fetchone()
            cur = await conn.execute(
                f"SELECT {QUOTE_COLUMNS} FROM quotes WHERE guild_id = %s AND {LIVE} "
                "ORDER BY number DESC LIMIT %s OFFSET %s",
                (guild_id, per_page, (page - 1) * per_page),
            )
            rows = await cur.fetchall()
        return [_row_to_quote(r) for r in rows], int(total_row[0]) if total_row else 0

    async def random(self, guild_id: int) -> StoredQuote | None:
        found = await self._fetch_quotes(
            f"SELECT {QUOTE_COLUMNS} FROM quotes WHERE guild_id = %s AND {LIVE} "
            "ORDER BY random() LIMIT 1",
            (guild_id,),
        )
        return found[0] if found else None

    async def search(self, guild_id: int, text: str, limit: int = 10) -> list[StoredQuote]:
        """Quotes whose text or key contains ``text`` literally (no wildcards), newest first.

        ILIKE, because SQLite's LIKE ignores ASCII case: the two stores answer alike.
        """
        if not text:
            return []
        pattern = f"%{escape_like(text)}%"
        return await self._fetch_quotes(
            f"SELECT {QUOTE_COLUMNS} FROM quotes WHERE guild_id = %s AND {LIVE} "
            "AND (text ILIKE %s ESCAPE '\\' OR key ILIKE %s ESCAPE '\\') "
            "ORDER BY number DESC LIMIT %s",
            (guild_id, pattern, pattern, search_limit(limit)),
        )

    async def remove(
        self, guild_id: int, number: int, *, removed_by: int | None = None
    ) -> StoredQuote | None:
        """Hide a quote (kept, marked removed); ``None`` when there is no such live quote."""
        async with self._connection("write") as conn:
            cur = await conn.execute(
                f"UPDATE quotes SET removed_at = %s, removed_by = %s "
                f"WHERE guild_id = %s AND number = %s AND {LIVE} RETURNING {QUOTE_COLUMNS}",
                (utc_now(), removed_by, guild_id, number),
            )
            row = await cur.fetchone()
        if row is None:
            return None
        log.info("guild %d removed quote #%d (by %s)", guild_id, number, removed_by)
        return _row_to_quote(row)

    async def count(self, guild_id: int) -> int:
        async with self._connection("read") as conn:
            cur = await conn.execute(
                f"SELECT COUNT(*) FROM quotes WHERE guild_id = %s AND {LIVE}", (guild_id,)
            )
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def close(self) -> None:
        """Close the pool; safe to call twice. Later calls raise :class:`QuoteStoreError`."""
        pool, self._pool, self._closed = self._pool, None, True
        if pool is not None:
            await pool.close()


__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "PostgresQuoteStore", "redact_url"]
