"""``quotebot console`` driven through its stdin and stdout, as a person at a terminal would."""

from __future__ import annotations

import io
from pathlib import Path

from bot.frontends.console import run_console


def drive(library, tmp_path: Path, *lines: str) -> str:
    stdout = io.StringIO()
    status = run_console(
        library, stdin=io.StringIO("".join(f"{line}\n" for line in lines)), stdout=stdout,
        db_path=tmp_path / "quotes.sqlite3",
    )
    assert status == 0
    return stdout.getvalue()


def test_a_bare_question_is_answered_and_more_pages_on(library, tmp_path: Path) -> None:
    out = drive(library, tmp_path, "规模重要吗?", "/more", "/quit", "/help")
    assert out.startswith("Interview Quote Bot — ")
    assert "Q: 规模就是一切吗" in out  # the question the quoted answer replied to
    assert out.count("▶ https://") == 2  # the answer, then one more from /more
    assert "Commands (the same as on Discord)" not in out  # nothing runs after /quit


def test_refused_and_uncovered_questions_are_one_line(library, tmp_path: Path) -> None:
    out = drive(library, tmp_path, "/ask " + "长" * 600, "/ask 今天北京天气怎么样?")
    assert "600 characters" in out and "Traceback" not in out
    assert "does not cover" in out


def test_topics_use_the_same_section_match_as_discord(library, tmp_path: Path) -> None:
    section = library.topics()[0].sections[0].title
    out = drive(library, tmp_path, f"/topics {section}", "/topics no-such-section-xyz")
    assert section in out
    assert "No section matches “no-such-section-xyz”" in out


def test_quotes_are_saved_listed_and_removed(library, tmp_path: Path) -> None:
    out = drive(
        library, tmp_path,
        "/quote add 我认为规模绝对是第一位的", "/quote add 我认为规模绝对是第一位的",
        "/quote list", "/quote remove 1", "/quote show 1", "/quote add 这句话不在访谈里",
        "/nonsense",
    )
    assert "Saved.\n#1 「" in out
    assert "Already saved as #1." in out
    assert "Removed quote #1." in out and "There is no quote #1." in out
    assert "not in the interview" in out
    assert "Unknown command /nonsense" in out


def test_console_speaks_the_terminals_language(library, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    out = drive(library, tmp_path, "/help", "/quote list", "/ask 今天北京天气怎么样?", "/nope")
    assert out.startswith("访谈语录机器人 — ")
    assert "命令（与 Discord 上相同）：" in out and "/ask <问题> [结果数]" in out
    assert "还没有保存任何语录" in out
    assert "这次访谈没有谈到这个问题。" in out
    assert "未知命令 /nope" in out
    for english in ("Commands", "Type /help", "does not cover", "Unknown command"):
        assert english not in out


def test_console_traditional_chinese(library, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LANG", "zh_TW.UTF-8")
    out = drive(library, tmp_path, "/quote add 我认为规模绝对是第一位的", "/quote show 1")
    assert "已儲存。\n#1 「" in out
    assert "由 " in out and " 儲存，" in out


def test_shell_words_work_with_or_without_a_slash(library, tmp_path: Path) -> None:
    out = drive(library, tmp_path, "help", "clear", "/clear", "exit", "规模重要吗?")
    assert "Commands (the same as on Discord)" in out
    assert "\x1b[" not in out  # clear only clears a terminal; here stdout is a pipe
    assert "Q: 规模就是一切吗" not in out  # `exit` left before the question
    assert "does not cover" not in out  # `help` and `clear` were not asked as questions
    for word in ("quit", "/quit", "EXIT", "/exit"):
        assert "▶ https://" not in drive(library, tmp_path, word, "规模重要吗?")


async def test_clear_sends_the_clear_screen_sequence(library) -> None:
    from bot.frontends.console import CLEAR_SCREEN, Console

    assert await Console(library, None, "me").handle("clear") == CLEAR_SCREEN
    assert await Console(library, None, "me").handle("clear the air") != CLEAR_SCREEN


def test_topics_by_the_number_topics_shows(library, tmp_path: Path) -> None:
    listing = drive(library, tmp_path, "/topics")
    second = library.topics()[0].sections[1]
    assert f"\n2. {second.title}  (" in listing
    for command in ("/topics 2", "topics 2"):
        out = drive(library, tmp_path, command)
        assert f"2. {second.title}" in out
        assert library.topics()[0].sections[0].title not in out  # only section 2
    count = len(library.topics()[0].sections)
    out = drive(library, tmp_path, f"/topics {count + 1}")
    assert f"There is no section {count + 1}: sections are numbered 1 to {count}." in out


def test_banner_names_every_interview(tmp_path: Path) -> None:
    import json

    from bot.library import Library
    from tests.paths import copy_bundled

    data = copy_bundled(tmp_path / "data")
    (data / "bees.en.srt").write_text(
        "1\n00:00:01,000 --> 00:00:04,000\nWhy do bees dance?\n\n"
        "2\n00:00:05,000 --> 00:00:09,000\nThey dance to tell the hive where flowers are.\n",
        encoding="utf-8",
    )
    (data / "bees.en.meta.json").write_text(json.dumps(
        {"id": "bees", "title": "Bees at work", "language": "en",
         "turns": [{"start": 1, "speaker": "host"}, {"start": 5, "speaker": "guest"}]}
    ))
    library = Library.load(data, use_cache=False)
    out = drive(library, tmp_path, "exit")
    banner = out.split("Type a question")[0]
    assert banner.startswith("Interview Quote Bot — 2 interviews:")
    for transcript in library.transcripts:
        assert transcript.title in banner
    assert "(00:05+)" in banner  # each with how long it runs
