"""`quotebot console`'s /quote commands, on each kind of store, through run_console."""

from __future__ import annotations

import io

from bot.frontends.console import run_console

HIRING = "我必须恳求他允许我招人"


def console(library, store_target: str, *lines: str) -> str:
    stdout = io.StringIO()
    status = run_console(
        library, stdin=io.StringIO("".join(f"{line}\n" for line in lines)), stdout=stdout,
        db_path=store_target,
    )
    assert status == 0
    return stdout.getvalue()


def test_console_saves_lists_and_removes_quotes(library, store_target: str):
    out = console(
        library, store_target,
        f"/quote add {HIRING}", f"/quote add {HIRING}!", "/quote list", "/quote remove 1",
        "/quote show 1", "/quit", "/quote list",
    )
    assert "Saved.\n#1 「我必须恳求他允许我招人」" in out
    assert "Already saved as #1." in out
    assert "Quotes, page 1/1 (1 in all):" in out
    assert "Removed quote #1." in out and "There is no quote #1." in out
    assert "No quotes saved yet" not in out  # nothing after /quit ran
    # A new session on the same store: the removed number is not handed out again.
    again = console(library, store_target, "/quote add 保持一支实力强劲、技术过硬的小团队")
    assert "Saved.\n#2 " in again


def test_console_without_a_usable_store_still_answers(library, tmp_path):
    out = console(library, "mysql://db/quotes", "/quote list", "/ask 规模重要吗?")
    assert "quote collection unavailable: QUOTEBOT_DB: unsupported database mysql://" in out
    assert "The quote collection is unavailable" in out
    assert "规模" in out


def test_a_quote_across_a_paragraph_break_is_saved_and_shown_a_paragraph_a_line(
    library, tmp_path
):
    # The end of one paragraph and the start of the next in the same turn, typed as one line.
    out = console(library, str(tmp_path / "q.sqlite3"),
                  "/quote add 如果不算 Greg 的公寓的话。我们在那里待了大概两年", "/quote list")
    assert "Saved.\n#1 「如果不算 Greg 的公寓的话。\n   我们在那里待了大概两年」" in out
