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

from platformdirs import user_data_dir

from bot.model import is_ascii_number

log = logging.getLogger(__name__)

APP_NAME = "interview-quote-bot"
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


@dataclass(frozen=True)
class Config:
    token: str | None = field(default=None, repr=False)
    guild_id: int | None = None
    data_dir: Path | None = None  # None: the bundled interview plus the user's data dir
    db_path: Path = field(default_factory=default_db_path)
    cooldown_rate: int = DEFAULT_COOLDOWN_RATE
    cooldown_per: float = DEFAULT_COOLDOWN_PER

    def __repr__(self) -> str:
        token = "<set>" if self.token else "<missing>"
        return (
            f"Config(token={token}, guild_id={self.guild_id!r}, data_dir={self.data_dir!r}, "
            f"db_path={self.db_path!r}, cooldown_rate={self.cooldown_rate!r}, "
            f"cooldown_per={self.cooldown_per!r})"
        )

    __str__ = __repr__

    def require_token(self) -> str:
        """The token, or a ConfigError telling the person how to get one."""
        if not self.token:
            raise ConfigError(TOKEN_HELP)
        return self.token


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


def load_config(env: Mapping[str, str] | None = None, *, dotenv: bool = True) -> Config:
    """Read settings from ``env`` (default: ``os.environ``, after loading the ``.env`` of the
    current directory or its parents without overriding variables that are already set, so
    the real environment always wins)."""
    if env is None:
        if dotenv:
            from dotenv import find_dotenv, load_dotenv

            # usecwd: look where the user runs `quotebot`, not beside this source file.
            load_dotenv(find_dotenv(usecwd=True), override=False)
        env = os.environ
    data_dir_raw = env.get("QUOTEBOT_DATA_DIR", "").strip()
    db_raw = env.get("QUOTEBOT_DB", "").strip()
    config = Config(
        token=env.get("DISCORD_TOKEN", "").strip() or None,
        guild_id=_optional_int(env, "DISCORD_GUILD_ID"),
        data_dir=Path(data_dir_raw).expanduser() if data_dir_raw else None,
        db_path=Path(db_raw).expanduser() if db_raw else default_db_path(),
        cooldown_rate=int(
            _positive_number(env, "QUOTEBOT_COOLDOWN_RATE", DEFAULT_COOLDOWN_RATE, int)
        ),
        cooldown_per=float(
            _positive_number(env, "QUOTEBOT_COOLDOWN_PER", DEFAULT_COOLDOWN_PER, float)
        ),
    )
    log.debug("loaded %r", config)
    return config
