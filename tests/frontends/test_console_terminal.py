"""``quotebot console`` at a real (pseudo-)terminal: arrow keys edit the line and recall
history, history survives a restart in the user state dir, and Ctrl-D leaves on a new line.

The console runs as a child process on a pty, as in a terminal emulator, so these tests
exercise the real `readline`, not a stand-in.
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.library import Library
from tests.paths import REPO, copy_bundled

pty = pytest.importorskip("pty")
pytest.importorskip("readline")

UP, LEFT = "\x1b[A", "\x1b[D"
CTRL_D = "\x04"
TIMEOUT = 60.0


class Terminal:
    """A child process on a pty, written to as keys and read until some text appears."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.fd, child = pty.openpty()
        self.process = subprocess.Popen(
            argv, stdin=child, stdout=child, stderr=child, env=env, cwd=cwd, close_fds=True
        )
        os.close(child)
        self.seen = b""

    def read_until(self, text: str, *, count: int = 1) -> str:
        wanted = text.encode()
        deadline = time.monotonic() + TIMEOUT
        while self.seen.count(wanted) < count:
            left = deadline - time.monotonic()
            assert left > 0, f"timed out waiting for {text!r}; got {self.seen.decode()[-500:]!r}"
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:  # the child closed the terminal
                    chunk = b""
                if not chunk:
                    break
                self.seen += chunk
        return self.seen.decode("utf-8", "replace")

    def type(self, keys: str) -> None:
        for key in (keys[i : i + 1] for i in range(len(keys))) if len(keys) < 40 else [keys]:
            os.write(self.fd, key.encode())
            time.sleep(0.01)  # keys arrive one by one, as typed

    def finish(self) -> tuple[int, str]:
        code = self.process.wait(timeout=TIMEOUT)
        self.read_until("\0")  # drain what is left (the child has closed the pty)
        os.close(self.fd)
        return code, self.seen.decode("utf-8", "replace")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    target = copy_bundled(tmp_path_factory.mktemp("console-data"))
    Library.load(target)  # warm the index cache, so the console starts fast
    return target


def console(data_dir: Path, home: Path) -> Terminal:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": str(REPO),
    }
    argv = [sys.executable, "-m", "bot.frontends.cli", "console", "--data-dir", str(data_dir)]
    return Terminal(argv, env, home)


def test_arrows_edit_and_recall_and_history_outlives_the_session(data_dir, tmp_path) -> None:
    second = Library.load(data_dir).topics()[0].sections[1].title
    shown = f"2. {second}"
    term = console(data_dir, tmp_path)
    term.read_until("> ")
    term.type("/opics 2" + LEFT * 7 + "t\r")  # Left walks back; the t goes in, not at the end
    out = term.read_until(shown)
    assert "Unknown command" not in out
    term.read_until("> ", count=2)
    term.type(UP + "\r")  # Up recalls the last line
    term.read_until(shown, count=2)
    term.read_until("> ", count=3)
    term.type(CTRL_D)
    code, out = term.finish()
    assert code == 0
    # Ctrl-D: the last prompt is closed by a newline, so the shell's prompt starts afresh
    # (bracketed-paste switches, which some readline versions send, are not text).
    tail = re.sub(r"\x1b\[\?2004[hl]|\r", "", out)
    assert tail.endswith("> \n"), repr(out[-60:])
    assert "^[[" not in out

    history = tmp_path / "state" / "interview-quote-bot" / "console_history"
    assert history.read_text(encoding="utf-8").splitlines()[-1] == "/topics 2"

    again = console(data_dir, tmp_path)  # a new session recalls the last one's lines
    again.read_until("> ")
    again.type(UP + "\r")
    again.read_until(shown)
    again.read_until("> ", count=2)
    again.type("exit\r")
    code, _ = again.finish()
    assert code == 0


def test_chinese_is_edited_a_whole_character_at_a_time(data_dir, tmp_path) -> None:
    term = console(data_dir, tmp_path)
    term.read_until("> ")
    # Typed 规模重要吗?, then Left past ? and 吗 and a Backspace removes 要: what is asked
    # must be 规模重吗? — only true if readline moves over wide characters whole.
    term.type("规模重要吗?" + LEFT * 2 + "\x7f" + "\r")
    out = term.read_until("> ", count=2)
    term.type("exit\r")
    term.finish()
    history = (tmp_path / "state" / "interview-quote-bot" / "console_history").read_text(
        encoding="utf-8"
    )
    assert history.splitlines()[-2:] == ["规模重吗?", "exit"], history
    assert "▶ https://" in out or "does not cover" in out
