"""QUOTEBOT_DB: which quote store a setting means, and one-line refusals of the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, default_db_path, load_config
from bot.frontends.cli import main
from bot.quotes.backend import parse_db_setting


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("quotes.sqlite3", Path("quotes.sqlite3")),
        ("/var/lib/bot/quotes.db", Path("/var/lib/bot/quotes.db")),
        ("sqlite:///quotes.db", Path("quotes.db")),
        ("sqlite:////var/lib/bot/quotes.db", Path("/var/lib/bot/quotes.db")),
        ("postgresql://bot@db/quotes", "postgresql://bot@db/quotes"),
        ("postgres://bot:pw@db:5433/quotes", "postgres://bot:pw@db:5433/quotes"),
        ("PostgreSQL://db/quotes", "PostgreSQL://db/quotes"),
    ],
)
def test_paths_and_sqlite_urls_mean_sqlite_and_postgres_urls_postgres(raw, expected):
    assert parse_db_setting(raw) == expected


@pytest.mark.parametrize("raw", ["mysql://db/quotes", "http://example.invalid/q", "sqlite:///"])
def test_other_schemes_are_refused_in_one_line(raw):
    with pytest.raises(ConfigError) as caught:
        load_config({"QUOTEBOT_DB": raw})
    assert "QUOTEBOT_DB" in str(caught.value) and "\n" not in str(caught.value)


def test_a_postgres_url_is_kept_and_its_password_never_shown():
    config = load_config({"QUOTEBOT_DB": "postgresql://bot:s3cret@db.internal/quotes"})
    assert config.db_url == "postgresql://bot:s3cret@db.internal/quotes"
    assert config.db_target == config.db_url
    assert config.db_path == default_db_path()
    assert "s3cret" not in repr(config) and "db.internal" in repr(config)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data_copy: Path) -> Path:
    for name in ("DISCORD_TOKEN", "DISCORD_GUILD_ID", "QUOTEBOT_DATA_DIR", "QUOTEBOT_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCORD_TOKEN", "not-a-real-token.abc")
    monkeypatch.setenv("QUOTEBOT_DATA_DIR", str(data_copy))  # its index is warm; data/ untouched
    return tmp_path


def test_run_refuses_an_unsupported_database_and_creates_nothing(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("QUOTEBOT_DB", "mysql://bot@db/quotes")
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unsupported database mysql://" in err
    assert list(clean_env.iterdir()) == []


def test_run_with_an_unreachable_postgres_stops_in_one_line_and_creates_nothing(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    # Before: this made a directory "postgresql:" holding an SQLite file, and ran on it.
    no_server = clean_env / "no-server"
    no_server.mkdir()
    monkeypatch.setenv("QUOTEBOT_DB", f"postgresql://bot:pw@/quotes?host={no_server}")
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot connect" in err and ":pw@" not in err
    assert [p.name for p in clean_env.iterdir()] == ["no-server"]
    assert list(no_server.iterdir()) == []
