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


@pytest.fixture
def discord_at(monkeypatch: pytest.MonkeyPatch):
    """Point discord.py's REST base at ``url`` for this test."""
    import discord

    def point(url: str) -> None:
        monkeypatch.setattr(discord.http.Route, "BASE", url)

    return point


@pytest.fixture
def ready_env(clean_env: Path, data_copy: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A token, a warm data copy and a fresh database: everything but Discord works."""
    monkeypatch.setenv("DISCORD_TOKEN", "not-a-real-token.abc")
    monkeypatch.setenv("QUOTEBOT_DB", str(clean_env / "quotes.sqlite3"))
    monkeypatch.setenv("QUOTEBOT_DATA_DIR", str(data_copy))
    return clean_env


def closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the socket is closed


@pytest.mark.parametrize("command", ["run", "sync"])
def test_unreachable_discord_is_one_line_and_exit_1(
    ready_env: Path, discord_at, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    discord_at(f"http://127.0.0.1:{closed_port()}/api/v10")
    assert main([command]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("quotebot: could not talk to Discord: cannot reach it")
    assert "firewall" in err


@pytest.mark.parametrize("command", ["run", "sync"])
def test_discord_answering_5xx_is_one_line_and_exit_1(
    ready_env: Path, discord_at, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    import http.server
    import threading

    class Unavailable(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = b'{"message": "upstream connect error", "code": 0}'
            self.send_response(503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_PUT = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Unavailable)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        discord_at(f"http://127.0.0.1:{server.server_address[1]}/api/v10")
        assert main([command]) == 1
    finally:
        server.shutdown()
        server.server_close()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "could not talk to Discord: its servers answered with an error (503)" in err


def test_bad_shard_setting_stops_run_with_one_line(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "not-a-real-token.abc")
    monkeypatch.setenv("QUOTEBOT_SHARD_COUNT", "2")
    monkeypatch.setenv("QUOTEBOT_SHARD_IDS", "0,2")
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "shard 2 does not exist" in err
