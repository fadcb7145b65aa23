"""Quiet, predictable start-up: no voice warnings, a .env found in known places and named,
and a ``--help`` that shows every command with its options."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import discord
import pytest

from bot.config import ConfigError, env_file_candidates, load_config
from bot.frontends.cli import build_parser, main

SECRET = "not-a-real-token.do-not-print"
VOICE = "voice will NOT be supported"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No settings from the developer's environment: cwd and the config dir are in tmp."""
    for name in ("DISCORD_TOKEN", "DISCORD_GUILD_ID", "QUOTEBOT_DATA_DIR", "QUOTEBOT_DB"):
        monkeypatch.setenv(name, "")  # tracked, so what load_dotenv writes is undone after
        monkeypatch.delenv(name)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path


@pytest.fixture
def voice_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    """discord.py warns once per process; re-arm it so this test sees the first start."""
    monkeypatch.setattr(discord.VoiceClient, "warn_nacl", True, raising=False)
    monkeypatch.setattr(discord.VoiceClient, "warn_dave", True, raising=False)


def user_config_env(root: Path) -> Path:
    return root / "config" / "quotebot" / ".env"


# ------------------------------------------------------------------------- voice warnings


def test_building_the_bot_logs_no_voice_warning_but_other_warnings_pass(
    voice_flags, library, bot_config, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.frontends.discord.client import create_bot
    from bot.quotes.store import QuoteStore

    store = QuoteStore(bot_config.db_path)
    with caplog.at_level(logging.DEBUG):
        create_bot(bot_config, library=library, store=store)
        logging.getLogger("discord.client").warning("a real problem")
    store.close()
    assert not discord.VoiceClient.warn_nacl  # discord.py did reach its warning …
    assert VOICE not in caplog.text  # … and it was dropped
    assert "a real problem" in caplog.text


async def test_quotebot_sync_prints_no_voice_warning(
    clean_env: Path, voice_flags, fake_discord, data_copy: Path,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", SECRET)
    monkeypatch.setenv("QUOTEBOT_DATA_DIR", str(data_copy))
    monkeypatch.setenv("QUOTEBOT_DB", str(clean_env / "quotes.sqlite3"))
    with caplog.at_level(logging.DEBUG):
        code = await asyncio.to_thread(main, ["sync"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith("Synced: /")
    assert VOICE not in caplog.text + err
    assert SECRET not in caplog.text + err + out


def _closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/api/v10"


def test_quotebot_run_names_its_env_file_and_fails_in_one_line_offline(
    clean_env: Path, voice_flags, data_copy: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str],
) -> None:
    env = user_config_env(clean_env)
    env.parent.mkdir(parents=True)
    env.write_text(f"DISCORD_TOKEN={SECRET}\nQUOTEBOT_DB={clean_env / 'q.sqlite3'}\n"
                   f"QUOTEBOT_DATA_DIR={data_copy}\n", encoding="utf-8")
    monkeypatch.setattr(discord.http.Route, "BASE", _closed_port())  # nothing listens there
    with caplog.at_level(logging.INFO):
        code = main(["run"])
    _, err = capsys.readouterr()
    assert code == 1
    assert err.startswith("quotebot: could not talk to Discord:") and err.count("\n") == 1
    assert f"settings from {env}" in caplog.text
    assert VOICE not in caplog.text + err
    assert SECRET not in caplog.text + err


def test_run_without_a_token_says_where_it_looked(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"no .env found; looked in {Path.cwd() / '.env'}, {user_config_env(clean_env)}" in err


# ------------------------------------------------------------------------- .env lookup


def test_env_is_looked_up_in_the_current_directory_then_the_config_dir(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = Path.cwd() / ".env"
    there = user_config_env(clean_env)
    assert env_file_candidates() == (here, there)

    there.parent.mkdir(parents=True)
    there.write_text("DISCORD_GUILD_ID=2\n", encoding="utf-8")
    config = load_config()
    assert config.env_file == there and config.guild_id == 2
    assert config.env_report() == f"settings from {there}"
    monkeypatch.delenv("DISCORD_GUILD_ID")

    here.write_text("DISCORD_GUILD_ID=1\n", encoding="utf-8")
    config = load_config()
    assert config.env_file == here and config.guild_id == 1  # the current directory wins
    monkeypatch.delenv("DISCORD_GUILD_ID")


def test_a_parent_directorys_env_is_not_used(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_env / ".env").write_text(f"DISCORD_TOKEN={SECRET}\n", encoding="utf-8")
    config = load_config()
    assert config.env_file is None and config.token is None
    assert config.env_report() == (
        f"no .env found; looked in {Path.cwd() / '.env'}, {user_config_env(clean_env)}"
    )


def test_an_env_without_a_token_is_named_in_the_error(clean_env: Path) -> None:
    (Path.cwd() / ".env").write_text("DISCORD_GUILD_ID=\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\.env has no DISCORD_TOKEN"):
        load_config().require_token()


# ------------------------------------------------------------------------- --help


def test_help_lists_every_command_with_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--help"])
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    listing = " ".join(out.split("every command with its options:")[1].split())
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # what argparse registered
    assert commands
    for name, sub in commands.items():
        assert f"quotebot {name}" in listing
        for action in sub._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert flag in listing, (name, flag)
