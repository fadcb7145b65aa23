"""Runtime settings for the Discord bot, read from the environment or a ``.env`` file.

Everything has a safe default except the bot token, which is only demanded at the moment we
connect: building the bot, running the console and running tests never need it. The token is
kept out of ``repr`` so it cannot leak into logs or tracebacks.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from platformdirs import user_config_dir, user_data_dir

from bot.model import is_ascii_number

log = logging.getLogger(__name__)

APP_NAME = "interview-quote-bot"
CONFIG_DIR_NAME = "quotebot"  # ~/.config/quotebot/.env: named after the command people type
ENV_FILE = ".env"
DEFAULT_COOLDOWN_RATE = 3
DEFAULT_COOLDOWN_PER = 10.0

TOKEN_HELP = (
    "DISCORD_TOKEN is not set. Create a bot at https://discord.com/developers/applications "
    "(Bot > Reset Token), put DISCORD_TOKEN=... in the environment or a .env file, "
    "or try `quotebot console`, which works without a token."
)


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line meant for the person running
    the bot (the CLI prints it and exits with status 2)."""


def default_db_path() -> Path:
    """The quote database lives in the user's data directory, never inside the installed
    package, so upgrades and read-only installs keep the collection."""
    return Path(user_data_dir(APP_NAME)) / "quotes.sqlite3"


def env_file_candidates() -> tuple[Path, ...]:
    """Where a ``.env`` is looked for, in order: the current directory, then the user config
    directory (e.g. ``~/.config/quotebot/.env``). Nothing else, so which file counts is
    predictable from where ``quotebot`` runs."""
    return (Path.cwd() / ENV_FILE, Path(user_config_dir(CONFIG_DIR_NAME)) / ENV_FILE)


def find_env_file(candidates: tuple[Path, ...] | None = None) -> Path | None:
    for candidate in env_file_candidates() if candidates is None else candidates:
        if candidate.is_file():
            return candidate
    return None


@dataclass(frozen=True)
class Config:
    token: str | None = field(default=None, repr=False)
    guild_id: int | None = None
    data_dir: Path | None = None  # None: the bundled interview plus the user's data dir
    db_path: Path = field(default_factory=default_db_path)
    # A PostgreSQL URL from QUOTEBOT_DB; when set it is used instead of the SQLite db_path.
    db_url: str | None = field(default=None, repr=False)
    cooldown_rate: int = DEFAULT_COOLDOWN_RATE
    cooldown_per: float = DEFAULT_COOLDOWN_PER
    # Sharding (QUOTEBOT_SHARD_COUNT / QUOTEBOT_SHARD_IDS). shard_count None: as many shards as
    # Discord recommends, all in this process. shard_ids None: every shard of shard_count.
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None
    # QUOTEBOT_PROCESSES (or `quotebot run --processes N`): processes forked after one load,
    # each serving a group of this machine's shards (`shard_groups`).
    processes: int = 1
    env_file: Path | None = None  # the .env read, if any (its path only, never its contents)
    env_looked_in: tuple[Path, ...] = ()  # where a .env was looked for

    def env_report(self) -> str:
        """One line saying which .env was used, or where none was found."""
        if self.env_file is not None:
            return f"settings from {self.env_file}"
        places = ", ".join(str(p) for p in self.env_looked_in) or "nowhere (disabled)"
        return f"no .env found; looked in {places}"

    def __repr__(self) -> str:
        token = "<set>" if self.token else "<missing>"
        return (
            f"Config(token={token}, guild_id={self.guild_id!r}, data_dir={self.data_dir!r}, "
            f"db_path={self.db_path!r}, db_url={_without_password(self.db_url)!r}, "
            f"cooldown_rate={self.cooldown_rate!r}, "
            f"cooldown_per={self.cooldown_per!r}, shard_count={self.shard_count!r}, "
            f"shard_ids={self.shard_ids!r}, processes={self.processes!r}, "
            f"env_file={self.env_file!r})"
        )

    __str__ = __repr__

    @property
    def db_target(self) -> Path | str:
        """What ``bot.quotes.backend.make_quote_backend`` opens: the URL if set, else the file."""
        return self.db_url or self.db_path

    def shard_groups(self) -> list[tuple[int, ...]] | None:
        """This machine's shards split into ``processes`` contiguous groups whose sizes differ
        by at most one (ids 0-4 over 2 processes: 0,1,2 and 3,4); None when unsharded."""
        if self.shard_count is None:
            return None
        ids = self.shard_ids if self.shard_ids is not None else tuple(range(self.shard_count))
        size, extra = divmod(len(ids), self.processes)
        groups, start = [], 0
        for number in range(self.processes):
            stop = start + size + (1 if number < extra else 0)
            groups.append(ids[start:stop])
            start = stop
        return groups

    def require_token(self) -> str:
        """The token, or a ConfigError telling the person how to get one."""
        if not self.token:
            if self.env_file is not None:
                raise ConfigError(f"{TOKEN_HELP} ({self.env_file} has no DISCORD_TOKEN.)")
            if self.env_looked_in:
                raise ConfigError(f"{TOKEN_HELP} ({self.env_report()}.)")
            raise ConfigError(TOKEN_HELP)
        return self.token


def _without_password(url: str | None) -> str | None:
    if not url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _db_setting(raw: str) -> tuple[Path, str | None]:
    """QUOTEBOT_DB → (SQLite file, PostgreSQL URL or None); other schemes are refused."""
    from bot.quotes.backend import parse_db_setting

    if not raw:
        return default_db_path(), None
    try:
        target = parse_db_setting(raw)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if isinstance(target, Path):
        return target, None
    return default_db_path(), target


def _shards(env: Mapping[str, str]) -> tuple[int | None, tuple[int, ...] | None]:
    """QUOTEBOT_SHARD_COUNT / QUOTEBOT_SHARD_IDS → (count, ids), checked together.

    The ids are this process's share of the count: every process of one bot gets the same
    count and its own ids, and together they must cover ``0 .. count-1`` once (which no single
    process can check; the README says how to split them).
    """
    count_raw = env.get("QUOTEBOT_SHARD_COUNT", "").strip()
    ids_raw = env.get("QUOTEBOT_SHARD_IDS", "").strip()
    if not count_raw:
        if ids_raw:
            raise ConfigError(
                f"QUOTEBOT_SHARD_IDS={ids_raw!r} needs QUOTEBOT_SHARD_COUNT, the total number "
                "of shards across all processes (e.g. QUOTEBOT_SHARD_COUNT=4)."
            )
        return None, None
    if not count_raw.isdigit() or int(count_raw) < 1:
        raise ConfigError(
            f"QUOTEBOT_SHARD_COUNT must be a whole number of shards, 1 or more, got {count_raw!r}."
        )
    count = int(count_raw)
    if not ids_raw:
        return count, None
    parts = [part.strip() for part in ids_raw.split(",")]
    if not all(part.isdigit() for part in parts):
        raise ConfigError(
            f"QUOTEBOT_SHARD_IDS must be shard numbers separated by commas (e.g. 0,1), "
            f"got {ids_raw!r}."
        )
    ids = [int(part) for part in parts]
    outside = [i for i in ids if i >= count]
    if outside:
        raise ConfigError(
            f"QUOTEBOT_SHARD_IDS={ids_raw!r}: shard {outside[0]} does not exist with "
            f"QUOTEBOT_SHARD_COUNT={count} (shards are numbered 0 to {count - 1})."
        )
    if len(set(ids)) != len(ids):
        raise ConfigError(f"QUOTEBOT_SHARD_IDS={ids_raw!r} names a shard twice.")
    return count, tuple(sorted(ids))


def _check_processes(
    processes: int, shard_count: int | None, shard_ids: tuple[int, ...] | None, source: str
) -> None:
    """Several processes need shards to share out: a count, and at least one shard each."""
    setting = source.format(n=processes)
    if processes < 1:
        raise ConfigError(f"{setting}: the number of processes must be 1 or more.")
    if processes == 1:
        return
    if shard_count is None:
        raise ConfigError(
            f"{setting} needs QUOTEBOT_SHARD_COUNT, the total number of shards to "
            f"share among the processes (e.g. QUOTEBOT_SHARD_COUNT={processes})."
        )
    shards = len(shard_ids) if shard_ids is not None else shard_count
    if processes > shards:
        which = "QUOTEBOT_SHARD_IDS" if shard_ids is not None else "QUOTEBOT_SHARD_COUNT"
        raise ConfigError(
            f"{setting} is more processes than this machine's {shards} "
            f"shard{'s' if shards != 1 else ''} ({which}); each process needs at least one."
        )


def _processes(env: Mapping[str, str]) -> int:
    raw = env.get("QUOTEBOT_PROCESSES", "").strip()
    if not raw:
        return 1
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(
            f"QUOTEBOT_PROCESSES must be a whole number of processes, 1 or more, got {raw!r}."
        )
    return int(raw)


def _optional_int(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not is_ascii_number(raw, 20):
        raise ConfigError(f"{name} must be a numeric Discord ID, got {raw!r}.")
    return int(raw)


def _positive_number(env: Mapping[str, str], name: str, default: float, kind: type) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a positive {kind.__name__}, got {raw!r}.") from None
    if value <= 0:
        raise ConfigError(f"{name} must be a positive {kind.__name__}, got {raw!r}.")
    return value


def load_config(
    env: Mapping[str, str] | None = None, *, dotenv: bool = True, processes: int | None = None
) -> Config:
    """Read settings from ``env`` (default: ``os.environ``, after loading the first ``.env`` of
    `env_file_candidates` without overriding variables that are already set, so the real
    environment always wins). ``processes``: ``quotebot run --processes N``, which wins over
    QUOTEBOT_PROCESSES."""
    env_file: Path | None = None
    looked_in: tuple[Path, ...] = ()
    if env is None:
        if dotenv:
            from dotenv import load_dotenv

            looked_in = env_file_candidates()
            env_file = find_env_file(looked_in)
            if env_file is not None:
                load_dotenv(env_file, override=False)
        env = os.environ
    data_dir_raw = env.get("QUOTEBOT_DATA_DIR", "").strip()
    db_path, db_url = _db_setting(env.get("QUOTEBOT_DB", "").strip())
    shard_count, shard_ids = _shards(env)
    if processes is None:
        processes = _processes(env)
        _check_processes(processes, shard_count, shard_ids, "QUOTEBOT_PROCESSES={n}")
    else:
        _check_processes(processes, shard_count, shard_ids, "--processes {n}")
    config = Config(
        token=env.get("DISCORD_TOKEN", "").strip() or None,
        guild_id=_optional_int(env, "DISCORD_GUILD_ID"),
        data_dir=Path(data_dir_raw).expanduser() if data_dir_raw else None,
        db_path=db_path,
        db_url=db_url,
        shard_count=shard_count,
        shard_ids=shard_ids,
        processes=processes,
        cooldown_rate=int(
            _positive_number(env, "QUOTEBOT_COOLDOWN_RATE", DEFAULT_COOLDOWN_RATE, int)
        ),
        cooldown_per=float(
            _positive_number(env, "QUOTEBOT_COOLDOWN_PER", DEFAULT_COOLDOWN_PER, float)
        ),
        env_file=env_file,
        env_looked_in=looked_in,
    )
    log.debug("loaded %r", config)
    return config
