"""``quotebot run``, unchanged, but talking to the fake Discord instead of discord.com.

    python -m tests.frontends.discord.run_against_fake http://127.0.0.1:PORT [run options]

Only the two addresses discord.py has built in are replaced (its REST base and its default
gateway, which a client given a shard count connects to); everything else, settings from the
environment included, is the real ``quotebot run``. Used by test_processes.py to run bots as
separate processes that can be killed, and by test_run_forked.py (`run --processes 2`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import discord.http
import yarl
from discord.gateway import DiscordWebSocket

from bot.frontends.cli import main
from tests.paths import REPO


def process_env(home: Path, data_dir: Path, db: str, shards: int) -> dict[str, str]:
    """The environment of a ``quotebot run`` child: nothing inherited but PATH, a fresh home
    (also its working directory, so no stray .env is read), and no bytecode written into the
    checkout."""
    home.mkdir(exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "PYTHONPATH": str(REPO),
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1",
        "DISCORD_TOKEN": "fake-token",
        "QUOTEBOT_DATA_DIR": str(data_dir),
        "QUOTEBOT_DB": db,
        "QUOTEBOT_SHARD_COUNT": str(shards),
    }


def run_against(base: str, options: list[str]) -> int:
    discord.http.Route.BASE = f"{base}/api/v10"
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(base.replace("http://", "ws://", 1) + "/gateway")
    return main(["run", *options])


if __name__ == "__main__":
    sys.exit(run_against(sys.argv[1], sys.argv[2:]))
