"""`quotebot run --processes 2`: one load, two forked processes, one shard each.

The real `quotebot run` (tests/frontends/discord/run_against_fake.py only points discord.py at
the fake Discord) with QUOTEBOT_SHARD_COUNT=2 and `--processes 2`, on SQLite and on PostgreSQL
(each process opens its own connection after the fork). What must hold: both shards connect,
from two processes that are children of the one started; /ask and /quote add are answered
in a server on each shard; /reload in each server reloads the process holding that server's
shard, and says so (its shard and pid); a child killed with kill -9 is forked again and its
shard reconnects; SIGTERM to the parent stops both children and the parent exits 0, with no
traceback anywhere; nothing syncs commands.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.frontends.discord import fake_discord as fd
from tests.frontends.discord.run_against_fake import process_env
from tests.frontends.discord.test_load import distinct_quotes
from tests.frontends.discord.test_processes import SAVED, guilds_on

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.skipif(
        "fork" not in multiprocessing.get_all_start_methods() or sys.platform == "darwin"
        or not Path("/proc/self/status").exists(),
        reason="needs fork and /proc (Linux)",
    ),
]

SHARDS = 2
ADMIN = fd.MEMBER_PERMISSIONS | fd.MANAGE_GUILD
RELOADED = re.compile(r"^Reloaded on this process \(shard (\d) of 2; pid (\d+) on ")


def parent_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
    raise AssertionError(f"no PPid for {pid}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_run_with_two_processes_serves_both_shards_and_stops_on_sigterm(
    fake_discord: fd.FakeDiscord, data_copy: Path, tmp_path: Path, store_target: str, library
):
    home = tmp_path / "home"
    env = process_env(home, data_copy, store_target, SHARDS)
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        parent = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "tests.frontends.discord.run_against_fake",
             f"http://127.0.0.1:{fake_discord.port}", "--processes", str(SHARDS)],
            env=env, cwd=home, stdout=out, stderr=subprocess.STDOUT,
        )

    def tail() -> str:
        return "\n".join(log.read_text(errors="replace").splitlines()[-30:])

    children: set[int] = set()
    try:
        try:
            await fake_discord.wait_for(lambda: set(fake_discord.shards) == {0, 1}, timeout=60)
        except TimeoutError:
            raise AssertionError(f"the shards never connected:\n{tail()}") from None
        assert sorted(fake_discord.identified) == [(0, SHARDS), (1, SHARDS)]  # once each

        guilds = {shard: guilds_on(shard, 1)[0] for shard in range(SHARDS)}
        quotes = list(distinct_quotes(library, SHARDS))
        for shard, guild_id in guilds.items():
            payload = fd.command("ask", {"question": "规模重要吗?"}, guild_id=guild_id)
            assert await fake_discord.dispatch(payload, SHARDS) is not None
            answer = await fake_discord.callback_for(int(payload["id"]), timeout=20)
            assert answer["data"].get("embeds"), (shard, answer)
            payload = fd.command("quote", {"text": quotes[shard]}, sub="add", guild_id=guild_id)
            assert await fake_discord.dispatch(payload, SHARDS) is not None
            answer = await fake_discord.callback_for(int(payload["id"]), timeout=20)
            if answer["type"] == fd.CALLBACK_DEFER_MESSAGE:  # a slow store: the answer follows
                token = payload["token"]
                await fake_discord.wait_for(lambda t=token: fake_discord.followups.get(t), 20)
                answer = {"data": fake_discord.followups[token][0]}
            assert SAVED.match(answer["data"].get("content") or ""), (shard, answer)

        async def reload_on(shard: int) -> int:
            """/reload in the shard's server: the pid of the process that reloaded."""
            payload = fd.command("reload", permissions=ADMIN, guild_id=guilds[shard],
                                 user_id=900)
            assert await fake_discord.dispatch(payload, SHARDS) is not None
            token = payload["token"]
            await fake_discord.wait_for(lambda t=token: fake_discord.followups.get(t),
                                        timeout=60)
            [followup] = fake_discord.followups[token]
            said = RELOADED.match(followup.get("content") or "")
            assert said, followup
            assert int(said.group(1)) == shard
            return int(said.group(2))

        reloaded = {shard: await reload_on(shard) for shard in guilds}
        children = set(reloaded.values())
        assert len(children) == SHARDS  # one process per shard ...
        assert parent.pid not in children
        assert {parent_of(pid) for pid in children} == {parent.pid}  # ... forked by the parent

        # kill -9 one process: the parent forks it again and its shard comes back.
        os.kill(reloaded[0], signal.SIGKILL)
        try:
            await fake_discord.wait_for(
                lambda: fake_discord.identified.count((0, SHARDS)) == 2, timeout=60)
        except TimeoutError:
            raise AssertionError(f"shard 0 never came back:\n{tail()}") from None
        again = await reload_on(0)
        children.add(again)
        assert again != reloaded[0] and parent_of(again) == parent.pid
        assert not alive(reloaded[0])

        parent.send_signal(signal.SIGTERM)
        assert parent.wait(20) == 0, tail()
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
        for pid in children:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)

    assert not [pid for pid in children if alive(pid)]
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text
    assert "exited with 0" in text  # each child stopped cleanly, not killed
    assert not [r for r in fake_discord.requests if r.method == "PUT"]  # `run` never syncs
