"""The quote store against real SQLite files: lifecycle, numbering, isolation, safety."""

from __future__ import annotations

import os
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.quotes.store import (
    SCHEMA_VERSION,
    NewQuote,
    QuoteStore,
    QuoteStoreBusy,
    QuoteStoreError,
    StoredQuote,
)


def save(store: QuoteStore, guild_id: int, text: str, *, user: int = 7) -> tuple[StoredQuote, bool]:
    return store.add(
        guild_id,
        NewQuote(
            passage_id=f"p-{text}",
            text=text,
            key=text.lower(),
            speaker="Andrej Karpathy",
            section="大语言模型是新时代的 CPU",
            link="https://youtu.be/c3b-JASoPi0?t=60s",
            saved_by=user,
            saved_by_name=f"user{user}",
        ),
    )


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "quotes.sqlite3"


@pytest.fixture
def store(db_path: Path):
    with QuoteStore(db_path) as opened:
        yield opened


# --- lifecycle -------------------------------------------------------------------------------


def test_add_then_get_returns_every_field(store: QuoteStore) -> None:
    before = datetime.now(timezone.utc)
    quote, created = save(store, 42, "我必须恳求他允许我招人")
    assert created
    assert quote.number == 1
    assert quote.guild_id == 42
    assert quote.saved_at.tzinfo is not None and quote.saved_at >= before
    assert store.get(42, 1) == quote
    assert store.count(42) == 1


def test_creates_parent_folders(db_path: Path) -> None:
    assert not db_path.parent.exists()
    QuoteStore(db_path).close()
    assert db_path.is_file()


def test_reopen_keeps_everything(db_path: Path) -> None:
    with QuoteStore(db_path) as first:
        saved = [save(first, 1, f"quote {i}")[0] for i in range(5)]
        first.remove(1, 2)
    with QuoteStore(db_path) as second:
        assert second.count(1) == 4
        assert second.get(1, 5) == saved[4]
        assert second.get(1, 2) is None
        assert save(second, 1, "after reopen")[0].number == 6


def test_closed_store_refuses_calls(db_path: Path) -> None:
    store = QuoteStore(db_path)
    store.close()
    store.close()  # twice is harmless
    with pytest.raises(QuoteStoreError, match="closed"):
        store.count(1)


def test_bad_arguments_change_nothing(store: QuoteStore) -> None:
    with pytest.raises(ValueError):
        save(store, -1, "negative guild")
    with pytest.raises(ValueError):
        store.add(
            1,
            NewQuote(
                passage_id="p",
                text="  ",
                key="",
                speaker="",
                section="",
                link="",
                saved_by=1,
                saved_by_name="x",
            ),
        )
    with pytest.raises(ValueError):
        store.page(1, 0)
    assert store.count(1) == 0 and store.count(-1) == 0


# --- numbering and removal -------------------------------------------------------------------


def test_numbers_are_never_reused_after_removal(store: QuoteStore) -> None:
    for text in ("one", "two", "three"):
        save(store, 1, text)
    removed = store.remove(1, 3)
    assert removed is not None and removed.text == "three"
    assert store.get(1, 3) is None
    assert store.remove(1, 3) is None
    assert save(store, 1, "four")[0].number == 4
    assert store.count(1) == 3


def test_removed_quote_is_kept_in_the_file(store: QuoteStore, db_path: Path) -> None:
    save(store, 1, "kept forever")
    store.remove(1, 1, removed_by=99)
    raw = sqlite3.connect(db_path)
    try:
        row = raw.execute("SELECT text, removed_by FROM quotes WHERE number = 1").fetchone()
    finally:
        raw.close()
    assert row == ("kept forever", 99)


def test_removed_quote_can_be_saved_again_under_a_new_number(store: QuoteStore) -> None:
    save(store, 1, "again")
    store.remove(1, 1)
    quote, created = save(store, 1, "again")
    assert created and quote.number == 2


def test_remove_unknown_number_is_none(store: QuoteStore) -> None:
    assert store.remove(1, 1) is None


# --- duplicates, listing, search -------------------------------------------------------------


def test_duplicate_key_returns_existing_quote(store: QuoteStore) -> None:
    first, _ = save(store, 1, "Same Words")
    again, created = store.add(
        1,
        NewQuote(
            passage_id="other",
            text="same words!",
            key="same words",
            speaker="x",
            section="",
            link="",
            saved_by=2,
            saved_by_name="b",
        ),
    )
    assert not created
    assert again == first
    assert store.count(1) == 1


def test_pagination_newest_first(store: QuoteStore) -> None:
    for i in range(1, 26):
        save(store, 5, f"quote {i:02d}")
    pages = [store.page(5, n) for n in (1, 2, 3, 4)]
    assert [total for _, total in pages] == [25, 25, 25, 25]
    assert [len(quotes) for quotes, _ in pages] == [10, 10, 5, 0]
    numbers = [q.number for quotes, _ in pages for q in quotes]
    assert numbers == list(range(25, 0, -1))


def test_random_picks_a_live_quote(store: QuoteStore) -> None:
    assert store.random(1) is None
    save(store, 1, "only one")
    save(store, 1, "removed")
    store.remove(1, 2)
    assert all(store.random(1).number == 1 for _ in range(20))


def test_search_matches_text_or_key_newest_first(store: QuoteStore) -> None:
    save(store, 1, "LLM OS is the new CPU")
    save(store, 1, "scale matters")
    save(store, 1, "the LLM OS again")
    store.add(
        1,
        NewQuote(
            passage_id="t",
            text="大模型作業系統",
            key="大模型操作系统",
            speaker="s",
            section="",
            link="",
            saved_by=1,
            saved_by_name="u",
        ),
    )
    assert [q.number for q in store.search(1, "LLM OS")] == [3, 1]
    assert [q.number for q in store.search(1, "llm os")] == [3, 1]  # via the key
    assert [q.number for q in store.search(1, "操作系统")] == [4]
    assert store.search(1, "nothing like this") == []
    assert len(store.search(1, "s", limit=2)) == 2


def test_search_treats_like_wildcards_literally(store: QuoteStore) -> None:
    save(store, 1, "100% sure")
    save(store, 1, "snake_case name")
    save(store, 1, "plain words")
    assert [q.text for q in store.search(1, "%")] == ["100% sure"]
    assert [q.text for q in store.search(1, "_")] == ["snake_case name"]
    assert store.search(1, "\\") == []


# --- isolation and concurrency ---------------------------------------------------------------


def test_guilds_are_isolated(store: QuoteStore) -> None:
    mine, _ = save(store, 1, "shared words")
    theirs, created = save(store, 2, "shared words")
    assert created and theirs.number == 1  # same key is not a duplicate across guilds
    save(store, 1, "only in guild one")
    assert store.count(2) == 1
    assert store.get(2, 2) is None
    assert store.search(2, "guild one") == []
    assert [q.guild_id for q in store.page(2, 1)[0]] == [2]
    assert store.remove(2, 2) is None
    assert store.get(1, 2) is not None
    assert store.random(3) is None
    assert store.get(1, 1) == mine


def test_removal_in_one_guild_leaves_the_same_number_elsewhere(store: QuoteStore) -> None:
    save(store, 1, "guild one words")
    kept, _ = save(store, 2, "guild two words")
    assert store.remove(1, 1) is not None
    assert store.get(2, 1) == kept
    assert store.count(2) == 1


def test_concurrent_adds_store_each_quote_exactly_once(db_path: Path) -> None:
    threads_n, per_thread = 8, 25
    barrier = threading.Barrier(threads_n)
    errors: list[BaseException] = []
    with QuoteStore(db_path) as store:

        def worker(worker_id: int) -> None:
            try:
                barrier.wait()
                for i in range(per_thread):
                    save(store, 1, f"quote {i}", user=worker_id)  # same texts in all threads
                    save(store, 1, f"worker {worker_id} quote {i}", user=worker_id)
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(threads_n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        expected = per_thread + threads_n * per_thread
        assert store.count(1) == expected
        stored: list[StoredQuote] = []
        for page in range(1, -(-expected // 100) + 1):
            stored += store.page(1, page, per_page=100)[0]
        assert sorted(q.number for q in stored) == list(range(1, expected + 1))
        assert len({q.key for q in stored}) == expected


def test_concurrent_adds_through_separate_connections(db_path: Path) -> None:
    """Several processes' worth of connections writing at once: no lost or doubled quote."""
    writers, per_writer = 4, 30
    stores = [QuoteStore(db_path) for _ in range(writers)]
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def persist(store: QuoteStore, text: str, user: int) -> None:
        # A short busy timeout means a writer may be told "busy, try again" under this
        # hammering; trying again must then neither lose nor double anything.
        for _ in range(50):
            try:
                save(store, 9, text, user=user)
                return
            except QuoteStoreBusy:
                continue
        raise AssertionError(f"still busy after 50 tries: {text}")

    def worker(n: int) -> None:
        try:
            barrier.wait()
            for i in range(per_writer):
                persist(stores[n], f"common {i}", n)
                persist(stores[n], f"writer {n} line {i}", n)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        expected = per_writer + writers * per_writer
        assert stores[0].count(9) == expected
        stored = stores[0].page(9, 1, per_page=100)[0] + stores[0].page(9, 2, per_page=100)[0]
        assert sorted(q.number for q in stored) == list(range(1, expected + 1))
    finally:
        for store in stores:
            store.close()


def test_two_stores_on_one_file_share_numbering(db_path: Path) -> None:
    """Two processes (here: two connections) never hand out the same number."""
    with QuoteStore(db_path) as a, QuoteStore(db_path) as b:
        save(a, 1, "from a")
        save(b, 1, "from b")
        save(a, 1, "from a again")
        assert [q.text for q in b.page(1, 1)[0]] == ["from a again", "from b", "from a"]


# --- file format and safety ------------------------------------------------------------------


def test_schema_version_and_wal_are_recorded(store: QuoteStore, db_path: Path) -> None:
    save(store, 1, "anything")
    raw = sqlite3.connect(db_path)
    try:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 1
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        raw.close()


def _refused_untouched(path: Path, reason: str) -> None:
    before = path.read_bytes()
    with pytest.raises(QuoteStoreError, match=reason) as info:
        QuoteStore(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    assert path.read_bytes() == before


def test_random_bytes_are_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "quotes.sqlite3"
    path.write_bytes(os.urandom(4096))
    _refused_untouched(path, "not an SQLite database")


def test_text_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "quotes.sqlite3"
    path.write_text("these are my notes, not a database\n", encoding="utf-8")
    _refused_untouched(path, "not an SQLite database")


def test_directory_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "quotes.sqlite3"
    path.mkdir()
    (path / "inside.txt").write_text("keep me")
    with pytest.raises(QuoteStoreError, match="directory"):
        QuoteStore(path)
    assert (path / "inside.txt").read_text() == "keep me"


def test_parent_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(QuoteStoreError, match="folder"):
        QuoteStore(blocker / "quotes.sqlite3")


def test_future_schema_version_is_refused_untouched(db_path: Path) -> None:
    with QuoteStore(db_path) as store:
        save(store, 1, "from the future")
    raw = sqlite3.connect(db_path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.execute("PRAGMA journal_mode = DELETE")
    raw.close()
    _refused_untouched(db_path, "newer version")


def test_another_programs_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE notes (body TEXT)")
    raw.execute("INSERT INTO notes VALUES ('precious')")
    raw.commit()
    raw.close()
    _refused_untouched(path, "another program")


def test_damaged_database_is_refused_untouched(db_path: Path) -> None:
    with QuoteStore(db_path) as store:
        for i in range(300):
            save(store, 1, f"a long enough quote to fill several pages {i} " * 3)
    raw = sqlite3.connect(db_path)
    raw.execute("PRAGMA journal_mode = DELETE")  # fold the WAL back into the main file
    page_size = raw.execute("PRAGMA page_size").fetchone()[0]
    raw.close()
    data = bytearray(db_path.read_bytes())
    assert len(data) > 6 * page_size
    data[2 * page_size : 5 * page_size] = os.urandom(3 * page_size)
    db_path.write_bytes(bytes(data))
    _refused_untouched(db_path, "damaged|integrity|malformed")


def test_empty_file_becomes_a_new_store(tmp_path: Path) -> None:
    path = tmp_path / "quotes.sqlite3"
    path.touch()
    with QuoteStore(path) as store:
        assert save(store, 1, "first")[0].number == 1
