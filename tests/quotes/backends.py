"""Fixtures that give a test a real quote store of each kind (imported by tests/conftest.py).

* SQLite: a file in ``tmp_path``.
* PostgreSQL: the server named by ``QUOTEBOT_TEST_PG_URL`` (``.ci/postgres`` starts one and sets
  it), with a fresh schema per test, dropped afterwards, so tests never see each other's rows.
  Without that variable the PostgreSQL cases are skipped with the reason, except under CI
  (``CI`` set), where a missing server is a failure: CI must never silently test one backend.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import pytest_asyncio

from bot.quotes.backend import QuoteBackend, make_quote_backend, parse_db_setting

PG_URL_ENV = "QUOTEBOT_TEST_PG_URL"
BACKENDS = ("sqlite", "postgresql")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def postgres_base_url() -> str:
    """The test server's URL; skips (or, under CI, fails) when there is none."""
    url = os.environ.get(PG_URL_ENV, "").strip()
    if url:
        return url
    if in_ci():
        pytest.fail(
            f"{PG_URL_ENV} is not set but CI is: .ci/run must start PostgreSQL (.ci/postgres)",
            pytrace=False,
        )
    pytest.skip(f"no PostgreSQL server: set {PG_URL_ENV} (`. .ci/postgres` starts one)")


def with_search_path(url: str, schema: str) -> str:
    """``url`` whose connections use ``schema`` (still a URL, so QUOTEBOT_DB accepts it)."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}', safe='')}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL of the test server whose connections use a new, empty schema."""
    import psycopg
    from psycopg import sql

    base = postgres_base_url()
    schema = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield with_search_path(base, schema)
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(params=BACKENDS)
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A ``QUOTEBOT_DB`` value for an empty store of each kind."""
    if request.param == "sqlite":
        return str(tmp_path / "quotes.sqlite3")
    return request.getfixturevalue("pg_url")


@pytest_asyncio.fixture
async def open_backend(store_target: str) -> AsyncIterator[Callable]:
    """``await open_backend()``: an opened store on ``store_target`` (closed after the test).
    Call it twice for two independent handles on the same data (a reopen, a second process)."""
    opened: list[QuoteBackend] = []

    async def make() -> QuoteBackend:
        backend = make_quote_backend(parse_db_setting(store_target))
        opened.append(backend)
        await backend.open()
        return backend

    yield make
    for backend in opened:
        await backend.close()


@pytest_asyncio.fixture
async def backend(open_backend: Callable) -> QuoteBackend:
    """An opened, empty quote store of each kind."""
    return await open_backend()
