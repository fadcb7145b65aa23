"""`quotebot run` / `sync` stop before connecting when they cannot serve, with one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.frontends.cli import main


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("DISCORD_TOKEN", "DISCORD_GUILD_ID", "QUOTEBOT_DATA_DIR", "QUOTEBOT_DB",
                 "QUOTEBOT_SHARD_COUNT", "QUOTEBOT_SHARD_IDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout
    return tmp_path


@pytest.mark.parametrize("command", ["run", "sync"])
def test_without_token_exits_2_and_points_to_console(
    clean_env: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    assert main([command]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "DISCORD_TOKEN" in err and "quotebot console" in err


def test_corrupt_quote_database_stops_run_and_is_left_untouched(
    clean_env: Path, data_copy: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = "not-a-real-token.abc"
    database = clean_env / "quotes.sqlite3"
    garbage = b"this is not a database" * 50
    database.write_bytes(garbage)
    monkeypatch.setenv("DISCORD_TOKEN", secret)
    monkeypatch.setenv("QUOTEBOT_DB", str(database))
    monkeypatch.setenv("QUOTEBOT_DATA_DIR", str(data_copy))  # no index cache in the checkout
    assert main(["run"]) == 1
    captured = capsys.readouterr()
    assert str(database) in captured.err and captured.err.count("\n") == 1
    assert secret not in captured.err + captured.out  # the token is never echoed
    assert database.read_bytes() == garbage


def test_broken_data_dir_stops_sync_with_file_and_line(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = clean_env / "data"
    data.mkdir()
    (data / "talk.zh.txt").write_text("第一部分\nQ:你好吗?\n卡帕西:\n", encoding="utf-8")
    (data / "talk.zh.meta.json").write_text(
        '{"id": "talk", "guest": {"name": "G", "labels": ["卡帕西"]}}', encoding="utf-8"
    )
    monkeypatch.setenv("DISCORD_TOKEN", "not-a-real-token.abc")
    monkeypatch.setenv("QUOTEBOT_DATA_DIR", str(data))
    assert main(["sync"]) == 1
    err = capsys.readouterr().err
    assert "talk.zh.txt:3" in err


def test_bad_shard_setting_stops_run_with_one_line(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "not-a-real-token.abc")
    monkeypatch.setenv("QUOTEBOT_SHARD_COUNT", "2")
    monkeypatch.setenv("QUOTEBOT_SHARD_IDS", "0,2")
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "shard 2 does not exist" in err
