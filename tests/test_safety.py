"""Issue 8, items 5 and 6: a store that refuses without touching, commits durably and says
"busy" quickly; and one line — never a traceback — for every bad input listed."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
import time

import pytest

from bot.frontends.cli import main
from bot.frontends.console import Console
from bot.quotes.backend import SQLiteQuoteBackend
from bot.quotes.service import MAX_QUOTE_NUMBER, QuoteService, parse_quote_number
from bot.quotes.store import NewQuote, QuoteStore, QuoteStoreBusy, QuoteStoreError
from bot.text.usertext import visible_text
from tests.paths import REPO

SAID = "我必须恳求他允许我招人"


# --------------------------------------------------------------------------- the store


def test_schema_that_differs_from_its_version_is_refused_untouched(tmp_path):
    path = tmp_path / "quotes.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE quotes (guild_id INTEGER, words TEXT)")
    conn.execute("CREATE TABLE guild_counters (guild_id INTEGER PRIMARY KEY, last_number INT)")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(QuoteStoreError, match="says schema version 1 but its tables differ"):
        QuoteStore(path)
    assert path.read_bytes() == before
    assert before[18:20] == b"\x01\x01"  # still a rollback-journal file: never switched to WAL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["quotes.sqlite3"]


def test_commits_are_synchronous_full(tmp_path):
    with QuoteStore(tmp_path / "q.sqlite3") as store:
        assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


@pytest.fixture
def locked_store(tmp_path):
    """A store whose file another connection holds the write lock on."""
    path = tmp_path / "q.sqlite3"
    store = QuoteStore(path)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    yield store
    other.execute("ROLLBACK")
    other.close()
    store.close()


def test_a_busy_database_is_our_own_error_within_a_second(locked_store):
    started = time.monotonic()
    with pytest.raises(QuoteStoreBusy, match="busy") as caught:
        locked_store.add(1, NewQuote(passage_id="p", text="t", key="k", speaker="s",
                                     section="x", link="", saved_by=1, saved_by_name="n"))
    assert time.monotonic() - started < 1.0
    assert "\n" not in str(caught.value)


async def test_the_console_survives_store_errors_with_one_line(library, locked_store):
    backend = SQLiteQuoteBackend(locked_store)
    console = Console(library, QuoteService(library, backend), "me")
    reply = await console.handle(f"/quote add {SAID}")
    assert "busy" in reply and "\n" not in reply
    await backend.close()
    assert "is closed" in await console.handle("/quote list")
    assert "规模" in await console.handle("/ask 规模重要吗?")


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("text", "number"),
    [("12", 12), (" 7 ", 7), ("0", None), ("-1", None), ("²", None), ("٣", None), ("１", None),
     ("99999999999999999999", None), (str(MAX_QUOTE_NUMBER), MAX_QUOTE_NUMBER),
     (str(MAX_QUOTE_NUMBER + 1), None), ("1e3", None), ("", None), ("12 3", None)],
)
def test_quote_numbers_are_strict_ascii_digits_in_range(text, number):
    assert parse_quote_number(text) == number


@pytest.fixture
async def console(library, tmp_path):
    backend = SQLiteQuoteBackend.at(tmp_path / "q.sqlite3")
    yield Console(library, QuoteService(library, backend), "me")
    await backend.close()


@pytest.mark.parametrize(
    "line",
    [
        "/quote show 99999999999999999999",
        "/quote show ²",
        "/quote remove 99999999999999999999",
        "/quote list ²",
        "/ask 规模重要吗? ²",
        "/ask \udcff",
        "\ud800 规模",
        "/quote search \udcff",
        "/topics \u202e",
    ],
)
async def test_console_lines_never_raise(console, line):
    reply = await console.handle(line)
    assert isinstance(reply, str)
    reply.encode("utf-8")  # printable: no lone surrogate comes back


async def test_service_refuses_numbers_sqlite_cannot_hold(library, tmp_path):
    backend = SQLiteQuoteBackend.at(tmp_path / "q.sqlite3")
    service = QuoteService(library, backend)
    assert await service.show(1, 10**20) is None
    assert (await service.remove(1, 10**20, 1, True)).status == "not_found"
    await backend.close()


def test_invalid_utf8_on_console_input_is_one_line(library, tmp_path):
    from bot.frontends.console import run_console

    raw = io.BytesIO("/ask 规模重要吗?\n".encode() + b"\xff\xfe bad\n/help\n")
    stdin = io.TextIOWrapper(raw, encoding="utf-8")
    out = io.StringIO()
    assert run_console(library, stdin=stdin, stdout=out, db_path=tmp_path / "q.sqlite3") == 0
    assert "Traceback" not in out.getvalue() and "/quote add" in out.getvalue()


# --------------------------------------------------------------------------- echoes


async def test_quote_search_echo_has_nothing_invisible(library, tmp_path):
    backend = SQLiteQuoteBackend.at(tmp_path / "q.sqlite3")
    result = await QuoteService(library, backend).search(0, "开\u200b会\u202e\x07\u2066")
    await backend.close()
    assert result.query == "开 会"
    assert visible_text("a\u200db\ufeffc\u2028d\x00e") == "a b c d e"


def test_ask_and_quote_search_share_one_cleaner(library):
    from bot.search.query import clean_query

    typed = "规模\u202e重要\u200b吗\x1b?"
    assert clean_query(typed) == visible_text(typed)


# --------------------------------------------------------------------------- the CLI


def test_ask_with_invalid_utf8_argument_is_one_line(capsys, data_copy):
    code = main(["ask", "\udcff", "--data-dir", str(data_copy)])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err


def test_a_damaged_cache_is_one_warning_line_at_the_default_level(tmp_path):
    from tests.test_ingest import article

    data = tmp_path / "data"
    article(data)
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1",
               XDG_CACHE_HOME=str(tmp_path / "cache"))
    command = [sys.executable, "-m", "bot.frontends.cli", "topics", "--data-dir", str(data)]
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=120)
    index = data / ".index" / "transcripts.marshal"
    index.write_bytes(index.read_bytes()[:-7] + b"damaged")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    assert done.stderr.count("\n") == 1 and "rebuilding" in done.stderr, done.stderr


def test_find_section_reads_only_short_ascii_numbers(library):
    """Past the Discord front end's length limit: 5,000 digits would exceed ``int``'s."""
    topic = library.topics()[0]
    for number in ("²", "٣", "9" * 5000, "1e3", " 1"):
        assert library.find_section(f"{topic.id}#{number}") is None
    assert library.find_section(f"{topic.id}#1") == (topic, topic.sections[1])


def test_strange_digits_elsewhere_are_no_numbers():
    from bot.config import ConfigError, load_config
    from bot.model import is_ascii_number, start_of_link

    assert not is_ascii_number("²") and not is_ascii_number("٣") and is_ascii_number("42")
    assert start_of_link("https://youtu.be/x?t=²s") is None
    with pytest.raises(ConfigError):
        load_config({"DISCORD_GUILD_ID": "١٢٣"}, dotenv=False)
