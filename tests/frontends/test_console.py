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
