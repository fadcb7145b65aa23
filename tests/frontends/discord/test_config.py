"""Settings from the environment / .env, and the token never showing up anywhere."""

from __future__ import annotations

import logging

import pytest

from bot.config import Config, ConfigError, default_db_path, load_config
from bot.frontends.discord.client import run_bot, sync_commands
from tests.paths import REPO

SECRET = "MTIz.secret-token-value.XYZ"


def test_defaults_need_no_token():
    config = load_config({})
    assert config.token is None
    assert config.guild_id is None
    assert config.db_path == default_db_path()
    assert "interview-quote-bot" in str(config.db_path)
    assert not str(config.db_path).startswith(str(REPO / "bot"))
    assert config.cooldown_rate == 3 and config.cooldown_per == 10.0


def test_values_are_read_from_the_environment(tmp_path):
    config = load_config(
        {
            "DISCORD_TOKEN": f"  {SECRET}  ",
            "DISCORD_GUILD_ID": "123456789012345678",
            "QUOTEBOT_DATA_DIR": str(tmp_path),
            "QUOTEBOT_DB": str(tmp_path / "q.sqlite3"),
            "QUOTEBOT_COOLDOWN_RATE": "50",
            "QUOTEBOT_COOLDOWN_PER": "2.5",
        }
    )
    assert config.token == SECRET
    assert config.guild_id == 123456789012345678
    assert config.data_dir == tmp_path
    assert config.db_path == tmp_path / "q.sqlite3"
    assert (config.cooldown_rate, config.cooldown_per) == (50, 2.5)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DISCORD_GUILD_ID", "my-server"),
        ("QUOTEBOT_COOLDOWN_RATE", "0"),
        ("QUOTEBOT_COOLDOWN_RATE", "lots"),
        ("QUOTEBOT_COOLDOWN_PER", "-1"),
    ],
)
def test_malformed_values_are_refused_with_the_variable_name(name, value):
    with pytest.raises(ConfigError, match=name):
        load_config({name: value})


def test_repr_and_str_hide_the_token(caplog):
    config = Config(token=SECRET)
    assert SECRET not in repr(config)
    assert SECRET not in str(config)
    assert "<set>" in repr(config)
    assert "<missing>" in repr(Config())
    with caplog.at_level(logging.DEBUG):
        load_config({"DISCORD_TOKEN": SECRET})
    assert SECRET not in caplog.text


def test_dotenv_fills_gaps_but_never_overrides_the_environment(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text(
        f"DISCORD_TOKEN={SECRET}\nDISCORD_GUILD_ID=42\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.setenv("DISCORD_GUILD_ID", "7")
    config = load_config()
    assert config.token == SECRET
    assert config.guild_id == 7
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)  # load_dotenv wrote it to os.environ


def test_missing_token_is_a_one_line_config_error_pointing_to_the_console():
    with pytest.raises(ConfigError) as caught:
        Config().require_token()
    message = str(caught.value)
    assert "\n" not in message
    assert "DISCORD_TOKEN" in message
    assert "quotebot console" in message
    assert "discord.com/developers" in message
    # The entry points the CLI calls refuse before loading anything or touching the network.
    with pytest.raises(ConfigError):
        run_bot(Config())
    with pytest.raises(ConfigError):
        sync_commands(Config())


def test_shards_default_to_all_in_one_process():
    config = load_config({})
    assert (config.shard_count, config.shard_ids) == (None, None)
    assert load_config({"QUOTEBOT_SHARD_COUNT": "4"}).shard_ids is None  # all four here


def test_shard_ids_are_this_process_share_of_the_count():
    config = load_config({"QUOTEBOT_SHARD_COUNT": " 4 ", "QUOTEBOT_SHARD_IDS": "3, 1"})
    assert (config.shard_count, config.shard_ids) == (4, (1, 3))
    assert "shard_ids=(1, 3)" in repr(config)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"QUOTEBOT_SHARD_IDS": "0,1"}, "needs QUOTEBOT_SHARD_COUNT"),
        ({"QUOTEBOT_SHARD_COUNT": "0"}, "QUOTEBOT_SHARD_COUNT must be a whole number"),
        ({"QUOTEBOT_SHARD_COUNT": "two"}, "QUOTEBOT_SHARD_COUNT must be a whole number"),
        ({"QUOTEBOT_SHARD_COUNT": "-2"}, "QUOTEBOT_SHARD_COUNT must be a whole number"),
        ({"QUOTEBOT_SHARD_COUNT": "2", "QUOTEBOT_SHARD_IDS": "0;1"}, "separated by commas"),
        ({"QUOTEBOT_SHARD_COUNT": "2", "QUOTEBOT_SHARD_IDS": "0,"}, "separated by commas"),
        ({"QUOTEBOT_SHARD_COUNT": "2", "QUOTEBOT_SHARD_IDS": "-1"}, "separated by commas"),
        ({"QUOTEBOT_SHARD_COUNT": "2", "QUOTEBOT_SHARD_IDS": "1,2"}, "shard 2 does not exist"),
        ({"QUOTEBOT_SHARD_COUNT": "2", "QUOTEBOT_SHARD_IDS": "1,1"}, "names a shard twice"),
    ],
)
def test_bad_shard_settings_are_refused_in_one_line(env, expected):
    with pytest.raises(ConfigError, match=expected) as caught:
        load_config(env)
    assert "\n" not in str(caught.value)


# ---- several processes on one machine (QUOTEBOT_PROCESSES, `quotebot run --processes N`) ----


def test_processes_split_this_machines_shards_into_contiguous_groups():
    assert load_config({}).processes == 1
    assert load_config({}).shard_groups() is None
    config = load_config({"QUOTEBOT_SHARD_COUNT": "5", "QUOTEBOT_PROCESSES": "2"})
    assert config.processes == 2
    assert config.shard_groups() == [(0, 1, 2), (3, 4)]
    env = {"QUOTEBOT_SHARD_COUNT": "8", "QUOTEBOT_SHARD_IDS": "6,2,4,5"}
    assert load_config(env, processes=3).shard_groups() == [(2, 4), (5,), (6,)]
    assert load_config(env, processes=4).shard_groups() == [(2,), (4,), (5,), (6,)]
    assert load_config(env).shard_groups() == [(2, 4, 5, 6)]  # one process: all of them
    # --processes wins over QUOTEBOT_PROCESSES (even one that would be refused).
    env = {"QUOTEBOT_SHARD_COUNT": "4", "QUOTEBOT_PROCESSES": "9"}
    assert load_config(env, processes=2).shard_groups() == [(0, 1), (2, 3)]
    assert load_config(env, processes=1).processes == 1


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"QUOTEBOT_PROCESSES": "2"}, "QUOTEBOT_PROCESSES=2 needs QUOTEBOT_SHARD_COUNT"),
        ({"QUOTEBOT_PROCESSES": "0"}, "QUOTEBOT_PROCESSES must be a whole number"),
        ({"QUOTEBOT_PROCESSES": "two"}, "QUOTEBOT_PROCESSES must be a whole number"),
        ({"QUOTEBOT_PROCESSES": "-1"}, "QUOTEBOT_PROCESSES must be a whole number"),
        ({"QUOTEBOT_PROCESSES": "3", "QUOTEBOT_SHARD_COUNT": "2"},
         "more processes than this machine's 2 shards .QUOTEBOT_SHARD_COUNT."),
        ({"QUOTEBOT_PROCESSES": "2", "QUOTEBOT_SHARD_COUNT": "4", "QUOTEBOT_SHARD_IDS": "3"},
         "more processes than this machine's 1 shard .QUOTEBOT_SHARD_IDS."),
    ],
)
def test_bad_process_settings_are_refused_in_one_line(env, expected):
    with pytest.raises(ConfigError, match=expected) as caught:
        load_config(env)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("env", "option", "expected"),
    [
        ({}, "2", "--processes 2 needs QUOTEBOT_SHARD_COUNT"),
        ({"QUOTEBOT_SHARD_COUNT": "2"}, "3", "--processes 3 is more processes than"),
        ({"QUOTEBOT_SHARD_COUNT": "2"}, "0", "--processes 0: the number of processes must be"),
        # An unsharded QUOTEBOT_PROCESSES is overridden by --processes 1, not refused.
        ({"QUOTEBOT_PROCESSES": "2", "QUOTEBOT_SHARD_COUNT": "1"}, "1", None),
    ],
)
def test_quotebot_run_processes_is_checked_before_loading_anything(
    env, option, expected, tmp_path, monkeypatch, capsys
):
    from bot.frontends import cli

    for name in ("QUOTEBOT_PROCESSES", "QUOTEBOT_SHARD_COUNT", "QUOTEBOT_SHARD_IDS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {**env, "DISCORD_TOKEN": "fake-token"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no stray .env
    ran: list[Config] = []
    monkeypatch.setattr("bot.frontends.discord.client.run_bot", lambda config: ran.append(config))
    code = cli.main(["run", "--processes", option])
    err = capsys.readouterr().err
    if expected is None:
        assert code == 0 and [c.processes for c in ran] == [1]
        return
    assert code == 2 and not ran
    assert err.startswith("quotebot: ") and expected in err
    assert err.count("\n") == 1
