"""What only the PostgreSQL store has to get right: its schema checks and its connection errors.
(Behaviour shared with SQLite is in tests/quotes/test_store_contract.py.)"""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest

from bot.quotes.postgres import SCHEMA_VERSION, PostgresQuoteStore, redact_url
from bot.quotes.store import QuoteStoreError


def tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema()"
        ).fetchall()
    return {name for (name,) in rows}


def run_sql(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


async def test_a_new_schema_is_created_once_even_by_simultaneous_openers(pg_url: str):
    stores = [PostgresQuoteStore(pg_url) for _ in range(3)]
    try:
        await asyncio.gather(*(store.open() for store in stores))
    finally:
        for store in stores:
            await store.close()
    assert tables(pg_url) == {"quotes", "guild_counters", "quotebot_schema"}
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT version FROM quotebot_schema").fetchall() == [
            (SCHEMA_VERSION,)
        ]


async def test_another_programs_quotes_table_is_refused_untouched(pg_url: str):
    run_sql(pg_url, "CREATE TABLE quotes (id serial PRIMARY KEY, body text)")
    store = PostgresQuoteStore(pg_url)
    with pytest.raises(QuoteStoreError, match="another program.*refusing to touch it"):
        await store.open()
    assert tables(pg_url) == {"quotes"}


async def test_a_newer_schema_is_refused_untouched(pg_url: str):
    store = PostgresQuoteStore(pg_url)
    await store.open()
    await store.close()
    run_sql(pg_url, "UPDATE quotebot_schema SET version = 99")
    with pytest.raises(QuoteStoreError, match="newer version of the bot.*refusing"):
        await PostgresQuoteStore(pg_url).open()
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT version FROM quotebot_schema").fetchone() == (99,)


async def test_no_server_is_a_one_line_error_without_the_password(tmp_path: Path):
    url = f"postgresql://bot:s3cret-pw@/quotes?host={tmp_path}&connect_timeout=2"
    store = PostgresQuoteStore(url, connect_timeout=2)
    with pytest.raises(QuoteStoreError) as caught:
        await store.open()
    message = str(caught.value)
    assert "cannot connect" in message and "\n" not in message
    assert "s3cret-pw" not in message and "s3cret-pw" not in repr(store)


async def test_using_a_store_before_opening_it_says_so(pg_url: str):
    with pytest.raises(QuoteStoreError, match="not open"):
        await PostgresQuoteStore(pg_url).count(1)


def test_where_names_the_database_but_not_the_password():
    shown = redact_url("postgresql://bot:pw@db.example:5433/quotes?sslmode=require")
    assert shown == "postgresql://bot@db.example:5433/quotes"
    assert redact_url("postgresql:///quotes?host=/run/pg") == "postgresql://[/run/pg]/quotes"


def test_a_malformed_url_is_refused_in_one_line():
    with pytest.raises(QuoteStoreError, match="invalid PostgreSQL URL"):
        PostgresQuoteStore("postgresql://h/db?nosuchoption=1")
