"""The quote store contract (bot.quotes.backend.QuoteBackend), run on every backend.

Each test runs once on SQLite (a file in tmp_path) and once on PostgreSQL (a fresh schema on
the server of QUOTEBOT_TEST_PG_URL): the two must behave identically.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.quotes.backend import QuoteBackend
from bot.quotes.store import MAX_PER_PAGE, NewQuote, QuoteStoreError, StoredQuote

REPO = Path(__file__).resolve().parent.parent


async def add(store: QuoteBackend, guild: int, name: str, **changes) -> tuple[StoredQuote, bool]:
    """Save the quote called ``name`` (its key unless ``key=`` says otherwise)."""
    fields = {
        "passage_id": f"p-{name}",
        "text": f"Words of {name}",
        "key": name,
        "speaker": "Andrej Karpathy",
        "section": "Opening",
        "link": "https://example.invalid/v?t=12",
        "saved_by": 42,
        "saved_by_name": "alice",
    }
    fields.update(changes)
    return await store.add(guild, NewQuote(**fields))


async def test_numbers_start_at_one_per_guild_and_keep_what_was_saved(backend: QuoteBackend):
    before = datetime.now(timezone.utc)
    first, created = await add(backend, 7, "alpha")
    assert created and first.number == 1 and first.guild_id == 7
    assert (await add(backend, 7, "beta"))[0].number == 2
    assert (await add(backend, 8, "alpha"))[0].number == 1  # another guild, its own numbers
    assert (await add(backend, 0, "alpha"))[0].number == 1  # 0 = DMs / the console
    assert first.saved_at.tzinfo is not None and first.saved_at.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= first.saved_at <= datetime.now(timezone.utc)
    assert await backend.get(7, 1) == first  # every field round-trips, saved_at to the µs
    assert await backend.get(7, 3) is None
    assert await backend.get(9, 1) is None
    assert [await backend.count(g) for g in (7, 8, 0, 9)] == [2, 1, 1, 0]


async def test_a_duplicate_key_returns_the_saved_quote_and_stores_nothing(backend: QuoteBackend):
    first, _ = await add(backend, 1, "same", saved_by=1, saved_by_name="alice")
    again, created = await add(backend, 1, "same", text="other typing", saved_by=2)
    assert not created and again == first
    assert await backend.count(1) == 1
    assert (await add(backend, 1, "next"))[0].number == 2  # the refused add used no number


async def test_removal_is_soft_and_numbers_are_never_reused(backend: QuoteBackend):
    await add(backend, 1, "one")
    two, _ = await add(backend, 1, "two")
    removed = await backend.remove(1, 2, removed_by=99)
    assert removed == two
    assert await backend.remove(1, 2, removed_by=99) is None  # already removed
    assert await backend.remove(2, 1) is None  # another guild's number
    assert await backend.get(1, 2) is None
    assert await backend.count(1) == 1
    # The newest was removed, yet its number is not handed out again.
    three, created = await add(backend, 1, "three")
    assert created and three.number == 3
    # A removed quote's words may be saved again, under a new number.
    again, created = await add(backend, 1, "two")
    assert created and again.number == 4


async def test_pages_are_newest_first_with_the_live_total(backend: QuoteBackend):
    for i in range(1, 8):
        await add(backend, 1, f"k{i}")
    await backend.remove(1, 7)
    quotes, total = await backend.page(1, 1, per_page=3)
    assert [q.number for q in quotes] == [6, 5, 4] and total == 6
    quotes, total = await backend.page(1, 2, per_page=3)
    assert [q.number for q in quotes] == [3, 2, 1] and total == 6
    assert await backend.page(1, 3, per_page=3) == ([], 6)
    assert await backend.page(2, 1) == ([], 0)


@pytest.mark.parametrize("page, per_page", [(0, 10), (-1, 10), (1, 0), (1, MAX_PER_PAGE + 1)])
async def test_bad_page_arguments_are_refused(backend: QuoteBackend, page: int, per_page: int):
    with pytest.raises(ValueError):
        await backend.page(1, page, per_page)


@pytest.mark.parametrize(
    "guild, changes",
    [(-1, {}), (True, {}), (1, {"text": "  "}), (1, {"key": ""})],
    ids=["negative-guild", "bool-guild", "blank-text", "empty-key"],
)
async def test_bad_quotes_are_refused_and_store_nothing(backend: QuoteBackend, guild, changes):
    with pytest.raises(ValueError):
        await add(backend, guild, "k", **changes)
    assert await backend.count(1) == 0


async def test_search_is_literal_ignores_ascii_case_and_is_newest_first(backend: QuoteBackend):
    await add(backend, 1, "k1", text="Scale is 100% of the cake")
    await add(backend, 1, "k2", text="snake_case and 100 percent")
    await add(backend, 1, "k3", text="back\\slash", key="某个关键词")
    await add(backend, 2, "k1", text="Scale elsewhere")
    assert [q.number for q in await backend.search(1, "scale")] == [1]
    assert [q.number for q in await backend.search(1, "100")] == [2, 1]
    assert [q.number for q in await backend.search(1, "100%")] == [1]  # % is not a wildcard
    assert [q.number for q in await backend.search(1, "e_c")] == [2]  # _ is not a wildcard
    assert [q.number for q in await backend.search(1, "k\\s")] == [3]
    assert [q.number for q in await backend.search(1, "关键")] == [3]  # the key is searched too
    assert await backend.search(1, "") == []
    assert len(await backend.search(1, "0", limit=1)) == 1
    await backend.remove(1, 1)
    assert await backend.search(1, "Scale") == []


async def test_random_picks_only_live_quotes(backend: QuoteBackend):
    assert await backend.random(1) is None
    await add(backend, 1, "gone")
    kept, _ = await add(backend, 1, "kept")
    await backend.remove(1, 1)
    assert {await backend.random(1) for _ in range(10)} == {kept}


async def test_quotes_survive_closing_and_reopening(open_backend: Callable):
    first = await open_backend()
    saved, _ = await add(first, 5, "kept")
    await add(first, 5, "removed")
    await first.remove(5, 2)
    await first.close()
    await first.close()  # closing twice is fine
    with pytest.raises(QuoteStoreError):
        await first.count(5)
    second = await open_backend()
    assert await second.get(5, 1) == saved
    assert (await add(second, 5, "after"))[0].number == 3


async def test_concurrent_adds_in_one_process_get_unique_consecutive_numbers(
    open_backend: Callable,
):
    stores = [await open_backend(), await open_backend()]
    keys = [f"key-{i % 30}" for i in range(60)]  # every key twice
    results = await asyncio.gather(
        *(add(stores[i % 2], 3, key) for i, key in enumerate(keys))
    )
    created = [quote for quote, new in results if new]
    assert sorted(q.number for q in created) == list(range(1, 31))
    by_key = {q.key: q.number for q in created}
    assert all(by_key[quote.key] == quote.number for quote, _ in results)
    assert await stores[0].count(3) == 30


WORKER = """
import asyncio, json, sys, time
from bot.quotes.backend import make_quote_backend, parse_db_setting
from bot.quotes.store import NewQuote

target, worker, count, start = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])

async def main():
    store = make_quote_backend(parse_db_setting(target))
    await store.open()
    time.sleep(max(0.0, start - time.time()))  # every worker starts writing together
    out = []
    for i in range(count):
        # Half the keys are this worker's own, half are shared by every worker.
        key = f"w{worker}-{i}" if i % 2 else f"shared-{i}"
        quote, created = await store.add(77, NewQuote(
            passage_id="p", text=key, key=key, speaker="s", section="x", link="",
            saved_by=worker, saved_by_name=f"w{worker}",
        ))
        out.append([key, quote.number, created])
    await store.close()
    print(json.dumps(out))

asyncio.run(main())
"""


def test_concurrent_adds_from_several_processes_lose_and_duplicate_nothing(
    store_target: str, tmp_path: Path
):
    workers, per_worker = 4, 30
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    start = time.time() + 2.0  # time for every interpreter to start and connect
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, store_target, str(w), str(per_worker), str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        for w in range(workers)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.extend(json.loads(out))

    created = [(key, number) for key, number, new in results if new]
    keys = {key for key, _, _ in results}
    # Every distinct key saved exactly once; numbers 1..n with no gap and no repeat.
    assert Counter(key for key, _ in created) == Counter(keys)
    assert sorted(number for _, number in created) == list(range(1, len(keys) + 1))
    # Whoever lost the race for a shared key was told the winner's number.
    winner = dict(created)
    assert all(winner[key] == number for key, number, _ in results)
    assert len(keys) == workers * per_worker // 2 + per_worker // 2
