"""One bot served by two `quotebot run` processes (shards 0 and 1 of 2) and one PostgreSQL.

Each process is the real `quotebot run` (tests/frontends/discord/run_against_fake.py only points
discord.py at the fake Discord), connected to the fake gateway, which routes every interaction
to the shard of its server, as Discord does. 1,000 `/quote add` and `/ask` interactions go to
four servers, two on each shard; midway, one process is killed with SIGKILL while it has work
in flight (again in the next chunk, should it have answered everything before the kill
landed), then started again, and the rest is sent.

What must hold: every quote whose saving was acknowledged to the person is stored, under the
number they were told; each server's numbers are unique and run 1..n with no gap (a write
killed mid-transaction leaves nothing behind); no words are stored twice in one server; the
only stored quotes nobody heard about are ones the killed process was saving when it died;
every interaction delivered to a live process is answered exactly once; neither process
syncs commands.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import psycopg
import pytest

from tests.frontends.discord import fake_discord as fd
from tests.frontends.discord.run_against_fake import process_env
from tests.frontends.discord.test_load import QUESTIONS, distinct_quotes

pytestmark = pytest.mark.asyncio

SHARDS = 2
INTERACTIONS = 1000
CHUNK = 50  # sent together; the kill lands in the middle of one chunk
KILL_AT_CHUNK = INTERACTIONS // CHUNK // 2
TIME_LIMIT_S = 60.0
QUOTES_PER_GUILD = 120
SAVED = re.compile(r"^Saved as quote \*\*#(\d+)\*\*")
ALREADY = re.compile(r"^That quote is already saved as \*\*#(\d+)\*\*")


def guilds_on(shard: int, how_many: int) -> list[int]:
    """Snowflakes whose servers Discord would route to ``shard`` of SHARDS."""
    found = []
    k = 1
    while len(found) < how_many:
        guild_id = (1_000_000 + k) << 22 | 7
        if (guild_id >> 22) % SHARDS == shard:
            found.append(guild_id)
        k += 1
    return found


class BotProcess:
    """One `quotebot run` serving one shard; its output goes to a log file for failures."""

    def __init__(self, shard: int, fake: fd.FakeDiscord, env: dict[str, str], logs: Path):
        self.shard = shard
        self.fake = fake
        self.env = {**env, "QUOTEBOT_SHARD_IDS": str(shard)}
        self.log = logs / f"shard{shard}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        out = self.log.open("ab")
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "tests.frontends.discord.run_against_fake",
             f"http://127.0.0.1:{self.fake.port}"],
            env=self.env, cwd=self.env["HOME"], stdout=out, stderr=subprocess.STDOUT,
        )
        out.close()

    async def ready(self, timeout: float = 30.0) -> None:
        """Identified on the gateway ``starts`` times (so a restart counts only once it is back)."""
        def up() -> bool:
            identified = sum(1 for shard, _ in self.fake.identified if shard == self.shard)
            return identified >= self.starts and self.shard in self.fake.shards

        try:
            await self.fake.wait_for(up, timeout)
        except TimeoutError:
            raise AssertionError(f"shard {self.shard} never connected:\n{self.tail()}") from None

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])


def stored_quotes(url: str) -> list[tuple[int, int, str, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT guild_id, number, key, text FROM quotes WHERE removed_at IS NULL"
        ).fetchall()


async def test_two_processes_one_database_survive_a_kill(
    fake_discord: fd.FakeDiscord, pg_url: str, data_copy: Path, library, tmp_path: Path,
    record_property,
):
    started = time.perf_counter()
    rng = random.Random(11)
    guilds = [g for shard in range(SHARDS) for g in guilds_on(shard, 2)]
    assert sorted({fd.FakeDiscord.shard_of({"guild_id": g}, SHARDS) for g in guilds}) == [0, 1]

    # Each server saves its own quotes (some typed twice: the second must be "already saved").
    candidates = list(distinct_quotes(library, QUOTES_PER_GUILD * 2).items())
    payloads: list[dict] = []
    for i, guild_id in enumerate(guilds):
        mine = candidates[(i % 2) * QUOTES_PER_GUILD:][:QUOTES_PER_GUILD]
        for text, _stored in mine:
            payloads.append(fd.command("quote", {"text": text}, sub="add",
                                       user_id=20_000 + rng.randrange(40), guild_id=guild_id))
        for text, _stored in rng.sample(mine, 20):
            payloads.append(fd.command("quote", {"text": text}, sub="add",
                                       user_id=20_000 + rng.randrange(40), guild_id=guild_id))
    while len(payloads) < INTERACTIONS:
        options = {"question": rng.choice(QUESTIONS), "results": rng.randint(1, 3)}
        payloads.append(fd.command("ask", options, user_id=20_000 + rng.randrange(40),
                                   guild_id=rng.choice(guilds)))
    rng.shuffle(payloads)
    assert len(payloads) == INTERACTIONS
    by_id = {int(p["id"]): p for p in payloads}

    home = tmp_path / "home"
    env = process_env(home, data_copy, pg_url, SHARDS)
    env["QUOTEBOT_COOLDOWN_RATE"] = "1000"  # the cooldown is tested elsewhere
    bots = [BotProcess(shard, fake_discord, env, tmp_path) for shard in range(SHARDS)]
    victim = bots[1]
    delivered: list[int] = []
    undelivered = 0
    in_flight_at_kill: set[int] = set()
    kills = 0
    try:
        for bot in bots:
            bot.start()
        await asyncio.gather(*(bot.ready() for bot in bots))
        boot_s = time.perf_counter() - started

        for n in range(0, INTERACTIONS, CHUNK):
            chunk = []
            for payload in payloads[n:n + CHUNK]:
                interaction_id = await fake_discord.dispatch(payload, SHARDS)
                if interaction_id is None:
                    undelivered += 1
                else:
                    chunk.append(interaction_id)
                    delivered.append(interaction_id)
            if n // CHUNK >= KILL_AT_CHUNK and not in_flight_at_kill:
                # Kill the victim once it has answered one of this chunk: the rest are in
                # flight, some of them mid-transaction. Should it have answered them all by
                # then (each takes milliseconds), it is killed again in the next chunk.
                victims = [i for i in chunk
                           if fd.FakeDiscord.shard_of(by_id[i], SHARDS) == victim.shard]
                await fake_discord.wait_for(
                    lambda v=victims: any(fake_discord.callbacks.get(i) for i in v),
                    timeout=20,
                )
                victim.kill()
                kills += 1
                in_flight_at_kill = {i for i in victims if not fake_discord.callbacks.get(i)}
                victim.start()
                await victim.ready()
            else:
                await fake_discord.wait_for(
                    lambda c=chunk: all(fake_discord.callbacks.get(i) for i in c), timeout=20
                )
        await asyncio.sleep(0.3)  # room for any second answer to arrive
        elapsed = time.perf_counter() - started
    finally:
        for bot in bots:
            bot.stop()

    # What each person was told.
    acknowledged: dict[int, dict[int, str]] = defaultdict(dict)  # guild -> number -> text
    already: list[tuple[int, int]] = []
    for interaction_id in delivered:
        answers = fake_discord.callbacks.get(interaction_id, [])
        if interaction_id in in_flight_at_kill and not answers:
            continue  # died with the process: the person saw "did not respond"
        assert len(answers) == 1, (interaction_id, answers)
        content = (answers[0].get("data") or {}).get("content") or ""
        assert "went wrong" not in content, content
        payload = by_id[interaction_id]
        if payload["data"]["name"] != "quote":
            data = answers[0]["data"]
            assert data.get("embeds") or "doesn't cover" in content, data  # /ask answered
            continue
        guild_id = int(payload["guild_id"])
        if saved := SAVED.match(content):
            number = int(saved.group(1))
            assert number not in acknowledged[guild_id], f"#{number} told twice in {guild_id}"
            acknowledged[guild_id][number] = payload["data"]["options"][0]["options"][0]["value"]
        elif again := ALREADY.match(content):
            already.append((guild_id, int(again.group(1))))
        else:
            raise AssertionError(f"unexpected /quote add answer: {content}")

    rows = stored_quotes(pg_url)
    stored: dict[int, dict[int, str]] = defaultdict(dict)
    for guild_id, number, _key, text in rows:
        stored[guild_id][number] = text
    lost = [(g, n) for g, numbers in acknowledged.items() for n in numbers
            if n not in stored[g]]
    duplicated_numbers = [k for k, c in Counter((g, n) for g, n, _, _ in rows).items() if c > 1]
    duplicated_words = [k for k, c in Counter((g, key) for g, _, key, _ in rows).items() if c > 1]
    unacknowledged = sum(len(stored[g]) - len(acknowledged[g]) for g in stored)
    in_flight_adds = sum(1 for i in in_flight_at_kill if by_id[i]["data"]["name"] == "quote")
    acked = sum(len(numbers) for numbers in acknowledged.values())

    figures = {
        "interactions": INTERACTIONS, "delivered": len(delivered), "undelivered": undelivered,
        "in_flight_at_kill": len(in_flight_at_kill), "kills": kills,
        "acknowledged_quotes": acked,
        "stored_quotes": len(rows), "lost": len(lost), "duplicated": len(duplicated_words),
        "stored_unacknowledged": unacknowledged, "boot_s": round(boot_s, 1),
        "seconds": round(elapsed, 1),
    }
    for name, value in figures.items():
        record_property(name, value)
    print("\n" + ", ".join(f"{k}={v}" for k, v in figures.items()))

    assert in_flight_at_kill, "the kill must land while the victim has work in flight"
    assert lost == []
    assert duplicated_numbers == [] and duplicated_words == []
    for guild_id, numbers in stored.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), f"gap in {guild_id}"
        for number, text in acknowledged[guild_id].items():
            assert numbers[number] == library.find_quote(text).quote_text
    assert 0 <= unacknowledged <= in_flight_adds
    assert all(number in stored[g] for g, number in already)
    assert set(stored) == set(guilds)
    # Only `quotebot sync` registers commands; `run` never does.
    assert not [r for r in fake_discord.requests if r.method == "PUT"]
    assert elapsed < TIME_LIMIT_S, figures
