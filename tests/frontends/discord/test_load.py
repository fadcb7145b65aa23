"""500 concurrent /ask and /quote interactions from 50 users through the real client.

Checks that every interaction is answered exactly once, that the quote store ends with exactly
the quotes that were added, and that nothing blocks the event loop for long (a watchdog
sleeping 5 ms in a loop records its worst lateness — a bound on blocking, not a speed test).
"""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from bot.model import GUEST
from tests.frontends.discord import fake_discord as fd
from tests.frontends.discord.fake_discord import CALLBACK_DEFER_MESSAGE

pytestmark = pytest.mark.asyncio  # harmless under asyncio_mode = "auto"

USERS = 50
PER_USER = 10
MAX_BLOCK_S = 0.100
QUESTIONS = [
    "马斯克怎么管理团队", "开源模型和闭源模型", "LLM OS 是什么", "规模重要吗",
    "How does Elon run teams?", "巧克力工厂", "量子计算机的冰箱", "中层管理", "算力和数据",
    "创业公司应该做什么",
]


def distinct_quotes(library, count: int) -> dict[str, str]:
    """Typed text -> the words the store will keep, for short non-overlapping extracts of the
    guest's passages that the library verifies as distinct quotes."""
    found: dict[str, str] = {}
    keys: set[str] = set()
    for passage in library.passages:
        if passage.role != GUEST:
            continue
        for at in range(0, len(passage.text) - 12, 12):
            text = passage.text[at : at + 12].strip()
            match = library.find_quote(text)
            if match.found and len(match.key) >= 6 and match.key not in keys:
                keys.add(match.key)
                found[text] = match.quote_text
            if len(found) == count:
                return found
    raise AssertionError(f"only {len(found)} distinct quotes in the transcript")


class Watchdog:
    """Sleeps ``tick`` seconds in a loop and records the worst extra delay it sees."""

    def __init__(self, tick: float = 0.005) -> None:
        self.tick = tick
        self.worst = 0.0
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.tick)
            self.worst = max(self.worst, time.perf_counter() - before - self.tick)

    def __enter__(self) -> Watchdog:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc) -> None:
        assert self._task is not None
        self._task.cancel()


async def test_500_concurrent_interactions(make_bot, fake_discord, library, record_property):
    bot = await make_bot(cooldown_rate=PER_USER * 2)  # the cooldown is tested elsewhere
    rng = random.Random(7)
    candidates = distinct_quotes(library, USERS * PER_USER // 2)
    quotes = iter(candidates)
    added: set[str] = set()
    payloads = []
    for user in range(USERS):
        user_id = 10_000 + user
        for _ in range(PER_USER):
            roll = rng.random()
            if roll < 0.4:
                options = {"question": rng.choice(QUESTIONS), "results": rng.randint(1, 3)}
                payloads.append(fd.command("ask", options, user_id=user_id))
            elif roll < 0.8 and len(added) < len(candidates):
                text = next(quotes)
                added.add(candidates[text])
                payloads.append(fd.command("quote", {"text": text}, sub="add", user_id=user_id))
            else:
                sub = rng.choice(["list", "random", "search"])
                options = {"text": "模型"} if sub == "search" else {}
                payloads.append(fd.command("quote", options, sub=sub, user_id=user_id))
    rng.shuffle(payloads)
    ids = [int(p["id"]) for p in payloads]

    with Watchdog() as watchdog:
        started = time.perf_counter()
        for payload in payloads:  # a gateway hands over one event per loop iteration
            fake_discord.deliver(bot, payload)
            await asyncio.sleep(0)
        await fake_discord.wait_for(
            lambda: all(fake_discord.callbacks.get(i) for i in ids), timeout=45
        )
        elapsed = time.perf_counter() - started
        await asyncio.sleep(0.2)  # room for any duplicate answer to arrive

    record_property("longest_event_loop_block_ms", round(watchdog.worst * 1000, 1))
    record_property("seconds_for_500", round(elapsed, 2))
    print(f"\n500 interactions in {elapsed:.2f}s; longest event-loop block "
          f"{watchdog.worst * 1000:.1f} ms")

    assert len(payloads) == USERS * PER_USER
    assert sorted(fake_discord.callbacks) == sorted(ids)
    assert all(len(fake_discord.callbacks[i]) == 1 for i in ids)
    # A quote call still waiting for the store after a second is deferred (Discord's 3 s):
    # its answer is then the follow-up.
    tokens = {int(p["id"]): p["token"] for p in payloads}
    deferred = {i for i in ids if fake_discord.callbacks[i][0]["type"] == CALLBACK_DEFER_MESSAGE}
    followups = fake_discord.followups
    await fake_discord.wait_for(lambda: all(followups.get(tokens[i]) for i in deferred))
    answers = [followups[tokens[i]][0] if i in deferred else fake_discord.callbacks[i][0]["data"]
               for i in ids]
    record_property("deferred", len(deferred))
    internal = [a for a in answers if "went wrong" in (a.get("content") or "")]
    assert internal == []
    total = await bot.quotes.count(fd.GUILD_ID)
    pages = [(await bot.quotes.list_page(fd.GUILD_ID, page, per_page=100)) for page in range(1, 6)]
    stored = {q.text for page in pages for q in page.quotes}
    assert total == len(added)
    assert stored == added
    assert watchdog.worst < MAX_BLOCK_S


async def test_watchdog_sees_a_blocking_call():
    """The instrument above must be able to fail: a 150 ms synchronous sleep is seen."""
    with Watchdog() as watchdog:
        await asyncio.sleep(0.02)
        time.sleep(0.15)
        await asyncio.sleep(0.02)
    assert watchdog.worst >= MAX_BLOCK_S
