"""A per-server collection of saved quotes, kept in one SQLite file.

Why SQLite through the standard library: the collection is small, written rarely and read
often, must survive restarts and crashes, and must never be silently lost. One file with WAL
journaling gives atomic writes and crash safety without another service to run.

Safety rules this module keeps:

* A file that is not a quote store (garbage, a text file, a directory, another program's
  database, a store written by a newer version of the bot, a damaged database) is refused with
  :class:`QuoteStoreError` at open time and is never written to, so the owner can recover it.
* Every write is one ``BEGIN IMMEDIATE`` transaction, so concurrent writers are serialised by
  SQLite and a crash leaves either the whole change or none of it.
* Removing a quote only marks it removed (who and when): nothing saved is ever lost, and a
  guild's quote numbers are never reused, so "quote #12" always means the same words.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"
# How long a call waits for another writer before giving up with QuoteStoreBusy: short, so a
# Discord interaction (3 s to answer) can still say "busy, try again".
BUSY_TIMEOUT_MS = 750
MAX_PER_PAGE = 100
MAX_SEARCH_LIMIT = 100


class QuoteStoreError(Exception):
    """The quote store cannot be used; the message says which file and why, in one line."""


class QuoteStoreBusy(QuoteStoreError):
    """Another process held the database for longer than ``BUSY_TIMEOUT_MS``; try again."""


def _is_busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    text = str(exc).lower()
    return "locked" in text or "busy" in text


QuoteRow = tuple[int, int, str, str, str, str, str, str, int, str, datetime]


@dataclass(frozen=True)
class NewQuote:
    """A quote as a user saves it: the verified span, its normalised ``key`` (for
    duplicates), and where it stands. The store adds its number and time (`stored`)."""

    passage_id: str
    text: str
    key: str
    speaker: str
    section: str
    link: str
    saved_by: int
    saved_by_name: str

    def stored(self, guild_id: int, number: int, saved_at: datetime) -> StoredQuote:
        saved = {f.name: getattr(self, f.name) for f in dataclasses.fields(NewQuote)}
        return StoredQuote(number=number, guild_id=guild_id, saved_at=saved_at, **saved)


@dataclass(frozen=True)
class StoredQuote(NewQuote):
    """One saved quote: what was saved, with its ``number`` (per guild, never reused), its
    guild (``guild_id`` 0 = DMs/console) and when."""

    number: int
    guild_id: int
    saved_at: datetime

    def row(self) -> QuoteRow:
        """The values in `QUOTE_COLUMNS` order."""
        return (self.number, self.guild_id, self.passage_id, self.text, self.key, self.speaker,
                self.section, self.link, self.saved_by, self.saved_by_name, self.saved_at)

    @classmethod
    def from_row(cls, values: QuoteRow) -> StoredQuote:
        """The quote from values in `QUOTE_COLUMNS` order (``saved_at`` already a datetime)."""
        (number, guild_id, passage_id, text, key, speaker, section, link, saved_by,
         saved_by_name, saved_at) = values
        return cls(passage_id=passage_id, text=text, key=key, speaker=speaker, section=section,
                   link=link, saved_by=saved_by, saved_by_name=saved_by_name, number=number,
                   guild_id=guild_id, saved_at=saved_at)


# --- schema migrations -----------------------------------------------------------------------
# Each migration moves the schema from version N-1 to N (its position in MIGRATIONS, 1-based)
# and runs inside the same transaction that records the new ``PRAGMA user_version``. To change
# the schema, append a function; never edit one that has shipped.


def _migration_1_initial(conn: sqlite3.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE quotes (
            guild_id      INTEGER NOT NULL,
            number        INTEGER NOT NULL,
            passage_id    TEXT    NOT NULL,
            text          TEXT    NOT NULL,
            key           TEXT    NOT NULL,
            speaker       TEXT    NOT NULL,
            section       TEXT    NOT NULL,
            link          TEXT    NOT NULL,
            saved_by      INTEGER NOT NULL,
            saved_by_name TEXT    NOT NULL,
            saved_at      TEXT    NOT NULL,
            removed_at    TEXT,
            removed_by    INTEGER,
            PRIMARY KEY (guild_id, number)
        )
        """
    )
    # Only live quotes take part in duplicate detection, so a removed quote can be saved again
    # (under a new number).
    conn.execute(
        "CREATE UNIQUE INDEX quotes_live_key ON quotes (guild_id, key) WHERE removed_at IS NULL"
    )
    # The last number handed out per guild; kept separately so removing the newest quote does
    # not let its number be handed out again.
    conn.execute(
        """
        CREATE TABLE guild_counters (
            guild_id    INTEGER PRIMARY KEY,
            last_number INTEGER NOT NULL
        )
        """
    )


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_migration_1_initial]
SCHEMA_VERSION = len(MIGRATIONS)

def _tables_and_columns(conn: sqlite3.Connection) -> dict[str, tuple]:
    """Each table's columns as (name, type, not null, primary key position)."""
    tables = [
        name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return {
        table: tuple(
            (row[1], row[2].upper(), row[3], row[5])
            for row in conn.execute(f"PRAGMA table_info({_quote_name(table)})")
        )
        for table in tables
    }


def _quote_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _schema_of(version: int) -> dict[str, tuple]:
    """The tables a store of schema ``version`` has, built by its migrations in memory."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        for migration in MIGRATIONS[:version]:
            migration(conn)
        return _tables_and_columns(conn)
    finally:
        conn.close()


# The quote columns in `StoredQuote.row` order, shared by both backends' SQL.
QUOTE_COLUMNS = (
    "number, guild_id, passage_id, text, key, speaker, section, link, "
    "saved_by, saved_by_name, saved_at"
)
LIVE = "removed_at IS NULL"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _row_to_quote(row: tuple) -> StoredQuote:
    saved_at = datetime.fromisoformat(row[10])  # SQLite keeps the time as ISO text
    if saved_at.tzinfo is None:
        saved_at = saved_at.replace(tzinfo=timezone.utc)
    return StoredQuote.from_row((*row[:10], saved_at))


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back if SQLite has not already done so itself (it does on some errors)."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")


# --- argument rules every backend applies (bot.quotes.backend.QuoteBackend) ------------------


def escape_like(text: str) -> str:
    """Make ``%``, ``_`` and ``\\`` match themselves in a ``LIKE ... ESCAPE '\\'`` pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def check_guild(guild_id: int) -> None:
    if isinstance(guild_id, bool) or not isinstance(guild_id, int) or guild_id < 0:
        raise ValueError(f"guild_id must be a non-negative integer, got {guild_id!r}")


def check_new_quote(guild_id: int, quote: NewQuote) -> None:
    check_guild(guild_id)
    if not quote.text.strip() or not quote.key.strip():
        raise ValueError("a quote needs non-empty text and key")


def check_page(page: int, per_page: int) -> None:
    if page < 1:
        raise ValueError(f"page must be 1 or more, got {page}")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValueError(f"per_page must be between 1 and {MAX_PER_PAGE}, got {per_page}")


def search_limit(limit: int) -> int:
    return max(1, min(limit, MAX_SEARCH_LIMIT))


class QuoteStore:
    """Saved quotes of every guild in one SQLite file; safe to share between threads.

    One connection guarded by a lock: every call is sub-millisecond, so serialising them is
    simpler and safer than a pool. The bot reaches it through
    :class:`bot.quotes.backend.SQLiteQuoteBackend`, which runs each call in a worker thread.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._check_file_before_open()
        self._check_read_only()
        conn = self._connect()
        try:
            self._check_database(conn)
            self._configure(conn)
            self._migrate(conn)
        except QuoteStoreError:
            conn.close()
            raise
        except sqlite3.Error as exc:
            conn.close()
            raise self._error(f"cannot open the quote database ({exc})") from exc
        self._conn = conn
        log.debug("quote store open at %s (schema version %d)", self.path, SCHEMA_VERSION)

    # --- opening ------------------------------------------------------------------------------

    def _error(self, reason: str) -> QuoteStoreError:
        return QuoteStoreError(f"Quote store {self.path}: {reason}")

    def _failure(self, action: str, exc: sqlite3.Error) -> QuoteStoreError:
        if _is_busy(exc):
            return QuoteStoreBusy(
                "The quote collection is busy (another program is writing to it); "
                "try again in a moment."
            )
        return self._error(f"{action} failed ({exc})")

    def _check_file_before_open(self) -> None:
        """Refuse anything that is visibly not an SQLite file before SQLite touches it."""
        if self.path.is_dir():
            raise self._error("is a directory, not a database file")
        if not self.path.exists():
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise self._error(f"cannot create its folder ({exc.strerror or exc})") from exc
            return
        try:
            with self.path.open("rb") as fh:
                header = fh.read(len(SQLITE_HEADER))
        except OSError as exc:
            raise self._error(f"cannot be read ({exc.strerror or exc})") from exc
        # An empty file is what SQLite itself creates for a new database: safe to initialise.
        if header and header != SQLITE_HEADER:
            raise self._error("is not an SQLite database; refusing to touch it")

    def _check_read_only(self) -> None:
        """Everything about an existing file is checked through a read-only connection, so
        a file we refuse is left exactly as it was (not even switched to WAL)."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        try:
            conn = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
            )
        except sqlite3.Error as exc:
            raise self._error(f"cannot be opened ({exc})") from exc
        try:
            self._check_database(conn)
            self._check_schema(conn)
        except sqlite3.Error as exc:
            if _is_busy(exc):
                raise QuoteStoreBusy(f"Quote store {self.path}: busy; try again") from exc
            raise self._error(f"is damaged or not a database ({exc}); refusing to touch it") \
                from exc
        finally:
            conn.close()

    def _check_schema(self, conn: sqlite3.Connection) -> None:
        """Tables and columns are exactly what this file's schema version says."""
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            return
        expected = _schema_of(version)
        actual = _tables_and_columns(conn)
        if actual != expected:
            differing = sorted(set(expected) ^ set(actual)) or sorted(
                t for t in expected if expected[t] != actual.get(t)
            )
            raise self._error(
                f"says schema version {version} but its tables differ ({', '.join(differing)}); "
                "refusing to touch it"
            )

    def _connect(self) -> sqlite3.Connection:
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so DDL in migrations and
            # reads-then-writes in add() are inside one explicit transaction.
            return sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise self._error(f"cannot be opened ({exc})") from exc

    def _check_database(self, conn: sqlite3.Connection) -> None:
        """Read-only checks: healthy, and either empty or a quote store we know how to read."""
        try:
            result = conn.execute("PRAGMA quick_check").fetchone()
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {
                name
                for (name,) in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%'"
                )
            }
        except sqlite3.DatabaseError as exc:
            raise self._error(
                f"is damaged or not a database ({exc}); refusing to touch it"
            ) from exc
        if not result or result[0] != "ok":
            detail = result[0] if result else "no answer"
            raise self._error(f"failed its integrity check ({detail}); refusing to touch it")
        if version > SCHEMA_VERSION:
            raise self._error(
                f"was written by a newer version of the bot (schema {version}, this version "
                f"knows up to {SCHEMA_VERSION}); refusing to touch it"
            )
        if version == 0 and tables:
            raise self._error(
                "is an SQLite database of another program (it has tables but no quote schema); "
                "refusing to touch it"
            )
        if version > 0 and "quotes" not in tables:
            raise self._error(
                f"claims schema version {version} but has no quotes table; refusing to touch it"
            )

    def _configure(self, conn: sqlite3.Connection) -> None:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            log.warning("quote store %s: WAL journaling unavailable, using %s", self.path, mode)
        # FULL: a quote acknowledged to the user survives a power cut, not only a crash.
        conn.execute("PRAGMA synchronous = FULL")

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """Apply every migration the file has not seen yet, each in its own transaction."""
        while True:
            conn.execute("BEGIN IMMEDIATE")
            try:
                # Re-read inside the write lock: another process may have migrated meanwhile.
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version >= SCHEMA_VERSION:
                    conn.execute("COMMIT")
                    return
                MIGRATIONS[version](conn)
                conn.execute(f"PRAGMA user_version = {version + 1}")
                conn.execute("COMMIT")
                log.info("quote store %s migrated to schema version %d", self.path, version + 1)
            except BaseException:
                _rollback(conn)
                raise

    # --- plumbing -----------------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._conn is None:
                raise self._error("is closed")
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise self._failure("read", exc) from exc

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: committed on success, rolled back on any error."""
        with self._lock:
            conn = self._conn
            if conn is None:
                raise self._error("is closed")
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._failure("write", exc) from exc
            try:
                yield conn
            except BaseException as exc:
                _rollback(conn)
                if isinstance(exc, sqlite3.Error):
                    raise self._failure("write", exc) from exc
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback(conn)
                raise self._failure("write", exc) from exc

    @staticmethod
    def _find_live(conn: sqlite3.Connection, guild_id: int, number: int) -> StoredQuote | None:
        row = conn.execute(
            f"SELECT {QUOTE_COLUMNS} FROM quotes WHERE guild_id = ? AND number = ? AND {LIVE}",
            (guild_id, number),
        ).fetchone()
        return _row_to_quote(row) if row else None

    # --- public API ---------------------------------------------------------------------------

    def add(
        self,
        guild_id: int,
        quote: NewQuote,
    ) -> tuple[StoredQuote, bool]:
        """Save a quote; ``(existing, False)`` when the guild already has one with this ``key``."""
        check_new_quote(guild_id, quote)
        key = quote.key
        with self._write() as conn:
            existing = conn.execute(
                f"SELECT {QUOTE_COLUMNS} FROM quotes WHERE guild_id = ? AND key = ? AND {LIVE}",
                (guild_id, key),
            ).fetchone()
            if existing:
                return _row_to_quote(existing), False
            number = conn.execute(
                "INSERT INTO guild_counters (guild_id, last_number) VALUES (?, 1) "
                "ON CONFLICT (guild_id) DO UPDATE SET last_number = last_number + 1 "
                "RETURNING last_number",
                (guild_id,),
            ).fetchone()[0]
            saved = quote.stored(guild_id, number, utc_now())
            conn.execute(
                f"INSERT INTO quotes ({QUOTE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*saved.row()[:-1], saved.saved_at.isoformat()),
            )
        log.info("guild %d saved quote #%d (%s)", guild_id, number, quote.passage_id)
        return saved, True

    def get(self, guild_id: int, number: int) -> StoredQuote | None:
        with self._read() as conn:
            return self._find_live(conn, guild_id, number)

    def page(self, guild_id: int, page: int, per_page: int = 10) -> tuple[list[StoredQuote], int]:
        """Quotes on 1-based ``page``, newest first, and the guild's total; past the end is []."""
        check_page(page, per_page)
        with self._read() as conn:
            total = conn.execute(
                f"SELECT COUNT(*) FROM quotes WHERE guild_id = ? AND {LIVE}", (guild_id,)
            ).fetchone()[0]
            rows = conn.execute(
                f"SELECT {QUOTE_COLUMNS} FROM quotes WHERE guild_id = ? AND {LIVE} "
                "ORDER BY number DESC LIMIT ? OFFSET ?",
                (guild_id, per_page, (page - 1) * per_page),
            ).fetchall()
        return [_row_to_quote(r) for r in rows], total

    def random(self, guild_id: int) -> StoredQuote | None:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {QUOTE_COLUMNS} FROM quotes WHERE guild_id = ? AND {LIVE} "
                "ORDER BY RANDOM() LIMIT 1",
                (guild_id,),
            ).fetchone()
        return _row_to_quote(row) if row else None

    def search(self, guild_id: int, text: str, limit: int = 10) -> list[StoredQuote]:
        """Quotes whose text or key contains ``text`` literally (no wildcards), newest first."""
        if not text:
            return []
        limit = search_limit(limit)
        pattern = f"%{escape_like(text)}%"
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {QUOTE_COLUMNS} FROM quotes WHERE guild_id = ? AND {LIVE} "
                "AND (text LIKE ? ESCAPE '\\' OR key LIKE ? ESCAPE '\\') "
                "ORDER BY number DESC LIMIT ?",
                (guild_id, pattern, pattern, limit),
            ).fetchall()
        return [_row_to_quote(r) for r in rows]

    def remove(
        self, guild_id: int, number: int, *, removed_by: int | None = None
    ) -> StoredQuote | None:
        """Hide a quote (kept in the file, marked removed); ``None`` when there is no such quote."""
        with self._write() as conn:
            quote = self._find_live(conn, guild_id, number)
            if quote is None:
                return None
            conn.execute(
                "UPDATE quotes SET removed_at = ?, removed_by = ? "
                "WHERE guild_id = ? AND number = ?",
                (utc_now().isoformat(), removed_by, guild_id, number),
            )
        log.info("guild %d removed quote #%d (by %s)", guild_id, number, removed_by)
        return quote

    def count(self, guild_id: int) -> int:
        with self._read() as conn:
            return conn.execute(
                f"SELECT COUNT(*) FROM quotes WHERE guild_id = ? AND {LIVE}", (guild_id,)
            ).fetchone()[0]

    def close(self) -> None:
        """Close the file; safe to call twice. Later calls raise :class:`QuoteStoreError`."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> QuoteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "QuoteStore",
    "QuoteStoreBusy",
    "QuoteStoreError",
    "StoredQuote",
    "check_guild",
    "check_new_quote",
    "check_page",
    "escape_like",
    "search_limit",
]
