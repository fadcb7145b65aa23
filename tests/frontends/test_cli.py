"""``quotebot`` end to end: `bot.cli.main` in-process with captured output, plus one run of
the installed console script. Every command gets ``--data-dir`` pointing at a copy of the
bundled data in tmp, so the index cache never lands in the repository."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.formats.metadata import meta_path_for
from bot.frontends.cli import main
from tests.paths import SEED, copy_bundled, shared_dir

VIDEO_URL = "https://www.youtube.com/watch?v=c3b-JASoPi0"
GUEST_NAME = "Andrej Karpathy (卡帕西)"
MUSK_SECTION = '马斯克 " 在管理世界上最大的创业公司 "'


@pytest.fixture
def data_dir(data_copy: Path) -> Path:
    """The session's copy of data/ with a warm ``.index``: each command only loads it."""
    return data_copy


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def ask_json(capsys, data_dir: Path, question: str, *extra: str) -> dict:
    code, out, err = run(capsys, "ask", question, "--json", "--data-dir", str(data_dir), *extra)
    assert code == 0, err
    return json.loads(out)


def assert_one_line_error(code: int, out: str, err: str) -> str:
    assert code != 0
    assert out == ""
    assert err.startswith("quotebot: ")
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err.strip()


def write_copy(folder: Path, text: str) -> Path:
    path = folder / SEED.name
    path.write_text(text, encoding="utf-8")
    shutil.copy2(meta_path_for(SEED), meta_path_for(path))
    return path


# ---------------------------------------------------------------------------- ingest


def test_ingest_reports_sections_turns_and_url(capsys):
    code, out, err = run(capsys, "ingest", str(SEED))
    assert code == 0, err
    assert "sections (3):" in out
    for title in ("大语言模型是新时代的 CPU", "规模是最主要决定因素", MUSK_SECTION):
        assert f"    - {title}\n" in out
    assert "turns: 9 host, 9 guest" in out
    assert VIDEO_URL in out


def test_ingest_json_report(capsys):
    code, out, _ = run(capsys, "ingest", str(SEED), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["turns"] == {"host": 9, "guest": 9, "unknown": 0}
    assert report["video_url"] == VIDEO_URL
    assert len(report["sections"]) == 3
    assert report["timed_turns"] == 18


def test_ingest_of_a_malformed_copy_is_one_line_with_file_and_line(capsys, tmp_path):
    lines = SEED.read_text(encoding="utf-8").split("\n")
    at = lines.index("视频链接:")
    path = write_copy(tmp_path, "\n".join(lines[:at] + ["卡帕西:"] + lines[at:]))
    message = assert_one_line_error(*run(capsys, "ingest", str(path)))
    assert message.startswith(f"quotebot: {path}:{at + 1}: ")


def test_ingest_of_a_missing_file_is_one_line(capsys, tmp_path):
    message = assert_one_line_error(*run(capsys, "ingest", str(tmp_path / "nope.txt")))
    assert "nope.txt" in message


# ------------------------------------------------------------------------------- ask


def test_ask_about_musk_and_meetings(capsys, data_dir):
    result = ask_json(capsys, data_dir, "马斯克对开会是什么态度?")
    assert result["answered"] is True
    hit = result["hits"][0]
    assert hit["role"] == "guest"
    assert hit["speaker"] == GUEST_NAME
    assert hit["section"] == MUSK_SECTION
    assert "会议" in hit["text"] or "开会" in hit["text"]
    assert hit["question"]
    assert hit["video_url"].startswith(VIDEO_URL)
    assert hit["id"].startswith("karpathy-sequoia-2024/p")
    assert isinstance(hit["score"], float) and hit["score"] > 0


def test_ask_out_of_scope_is_unanswered(capsys, data_dir):
    result = ask_json(capsys, data_dir, "今天北京天气怎么样?")
    assert result == {"query": "今天北京天气怎么样?", "answered": False, "hits": [], "closest": []}


def test_ask_out_of_scope_in_text_mode_says_so(capsys, data_dir):
    code, out, _ = run(capsys, "ask", "怎么做红烧肉?", "--data-dir", str(data_dir))
    assert code == 0
    assert "does not cover" in out
    assert "规模是最主要决定因素" in out  # offers what it does cover


def test_ask_top_three_with_any_speaker(capsys, data_dir):
    result = ask_json(capsys, data_dir, "美国赛艇队和日本赛艇队的笑话", "--top", "3",
                      "--speaker", "any")
    hits = result["hits"]
    assert 1 <= len(hits) <= 3
    assert len({h["id"] for h in hits}) == len(hits)
    assert hits[0]["role"] == "host" and "赛艇队" in hits[0]["text"]


def test_ask_in_text_mode_shows_the_quote_and_its_source(capsys, data_dir):
    code, out, _ = run(capsys, "ask", "规模重要吗?", "--data-dir", str(data_dir))
    assert code == 0
    # The one-line paragraph, then on a line of its own the paragraph it opens onto.
    assert "「我认为【规模】绝对是第一位的。\n   其中有一些细节确实需要处理好。" in out
    assert GUEST_NAME in out and VIDEO_URL in out


@pytest.mark.parametrize(
    "question", ["", "   ", "问" * 501], ids=["empty", "whitespace", "501_chars"]
)
def test_ask_refuses_unusable_questions_in_one_line(capsys, data_dir, question):
    assert_one_line_error(*run(capsys, "ask", question, "--data-dir", str(data_dir)))


def test_ask_strips_control_characters(capsys, data_dir):
    result = ask_json(capsys, data_dir, "马斯克\x07对开会\x1b是什么态度?")
    assert "\x07" not in result["query"] and "\x1b" not in result["query"]
    assert result["answered"]


def test_missing_data_dir_is_one_line(capsys, tmp_path):
    missing = tmp_path / "no-such-dir"
    message = assert_one_line_error(*run(capsys, "ask", "规模重要吗?", "--data-dir", str(missing)))
    assert str(missing) in message


def test_malformed_transcript_in_the_data_dir_is_one_line(capsys, tmp_path):
    lines = SEED.read_text(encoding="utf-8").split("\n")
    at = lines.index("视频链接:")
    path = write_copy(tmp_path, "\n".join(lines[: at + 1] + ["稍后补上"]))
    message = assert_one_line_error(*run(capsys, "ask", "规模重要吗?", "--data-dir", str(tmp_path)))
    assert message.startswith(f"quotebot: {path}:{at + 2}: ")


# ---------------------------------------------------------------------------- topics


def test_topics_json(capsys, data_dir):
    code, out, err = run(capsys, "topics", "--json", "--data-dir", str(data_dir))
    assert code == 0, err
    transcript = json.loads(out)["transcripts"][0]
    assert transcript["video_url"] == VIDEO_URL
    sections = transcript["sections"]
    assert len(sections) == 3
    for section in sections:
        assert section["questions"] and all(q.strip() for q in section["questions"])
        assert section["keywords"]


# ------------------------------------------------------------------------------ eval


def test_eval_meets_the_quality_floors(capsys, data_dir):
    questions = shared_dir() / "eval" / "dev_questions.jsonl"
    if not questions.is_file():
        pytest.skip(f"no shared eval set at {questions} (set QUOTEBOT_SHARED_DIR)")
    code, out, err = run(capsys, "eval", str(questions), "--json", "--data-dir", str(data_dir))
    assert code == 0, err
    result = json.loads(out)
    assert result["zh"]["hit@3"] >= 0.85, result["zh"]
    assert result["zh"]["hit@1"] >= 0.75, result["zh"]
    assert result["zht"]["hit@3"] >= 0.66, result["zht"]
    assert result["oos"]["not_answered_rate"] >= 0.66, result["oos"]
    assert result["all_in_scope"]["answered_rate"] >= 0.8, result["all_in_scope"]


@pytest.mark.parametrize(
    ("content", "line"),
    [
        ('{"id": "a", "q": "规模重要吗?", "gold": ["规模"]}\n{not json\n', 2),
        ('{"id": "a", "gold": ["规模"]}\n', 1),
        ('{"id": "a", "q": "规模?", "gold": "规模"}\n', 1),
    ],
    ids=["bad_json", "no_question", "gold_not_a_list"],
)
def test_malformed_eval_file_is_one_line(capsys, data_dir, tmp_path, content, line):
    path = tmp_path / "questions.jsonl"
    path.write_text(content, encoding="utf-8")
    message = assert_one_line_error(
        *run(capsys, "eval", str(path), "--data-dir", str(data_dir))
    )
    assert message.startswith(f"quotebot: {path}:{line}: ")


def test_empty_eval_file_is_one_line(capsys, data_dir, tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n", encoding="utf-8")
    message = assert_one_line_error(*run(capsys, "eval", str(path), "--data-dir", str(data_dir)))
    assert str(path) in message


# ---------------------------------------------------------------- installed script


def test_installed_console_script_end_to_end(data_dir):
    script = Path(sys.executable).with_name("quotebot")
    if not script.exists():
        pytest.skip(f"the quotebot console script is not installed next to {sys.executable}")
    env = {**os.environ, "PYTHONUTF8": "1"}
    done = subprocess.run(
        [str(script), "ask", "規模重要嗎?", "--json", "--data-dir", str(data_dir)],
        capture_output=True, text=True, encoding="utf-8", env=env, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["answered"]
    assert result["hits"][0]["text"].startswith("我认为规模绝对是第一位的。\n")

    failed = subprocess.run(
        [str(script), "ask", "  ", "--data-dir", str(data_dir)],
        capture_output=True, text=True, encoding="utf-8", env=env, timeout=120, check=False,
    )
    assert failed.returncode != 0
    assert failed.stdout == ""
    assert failed.stderr.startswith("quotebot: ") and failed.stderr.count("\n") == 1


def test_ctrl_c_while_quotebot_starts_is_no_traceback(data_copy, tmp_path, interruptible_children):
    """SIGINT at points spread over start-up (imports, index load, answering): status 130,
    never a traceback. Before Python itself has started (its
    first ~20 ms, none of our code yet) CPython's own behaviour is out of our hands."""
    import signal
    import subprocess
    import sys
    import time

    from tests.paths import REPO

    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    entry = "import sys; from bot.frontends.cli import main; sys.exit(main(sys.argv[1:]))"
    command = [sys.executable, "-c", entry, "topics", "--data-dir", str(data_copy)]
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sys"], env=env, check=True)
    python_alone = time.perf_counter() - started
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=120)
    whole = time.perf_counter() - started
    first = 2 * python_alone
    delays = [first + (whole - first) * k / 9 for k in range(10)]
    codes = []
    for delay in delays:
        child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=120)
        assert "Traceback" not in err and "KeyboardInterrupt" not in err, (delay, err)
        # 0: it had answered; -SIGINT: it was already shutting down (no handler any more)
        assert child.returncode in (0, 130, -signal.SIGINT), (delay, child.returncode, err)
        codes.append(child.returncode)
    assert 130 in codes  # at least one interrupt landed during start-up


def test_an_interrupt_python_cannot_raise_is_delivered_again_not_printed():
    """A Ctrl-C landing in a weakref callback (importlib's module locks, during start-up
    imports) is "Exception ignored … Traceback … KeyboardInterrupt" and then lost; the CLI
    delivers it again, to end as any Ctrl-C does."""
    import subprocess
    import sys

    from tests.paths import REPO

    code = "\n".join([
        "import sys, time, weakref",
        "import bot.frontends.cli",
        "class Module: pass",
        "module = Module()",
        "def callback(ref): raise KeyboardInterrupt",
        "lock = weakref.ref(module, callback)",
        "try:",
        "    del module",
        "    time.sleep(5)",
        "except KeyboardInterrupt:",
        "    sys.exit(130)",
    ])
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    child = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, timeout=60)
    assert child.returncode == 130, child
    assert child.stderr == ""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("as_json", [False, True])
def test_a_first_build_shows_a_progress_bar_on_a_terminal_only(tmp_path, monkeypatch, as_json):
    data = copy_bundled(tmp_path / "data")
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    extra = ["--json"] if as_json else []
    assert main(["ask", "规模重要吗?", "--data-dir", str(data), *extra]) == 0
    assert ("indexing" in terminal.getvalue()) is not as_json
    assert ("passages/s" in terminal.getvalue()) is not as_json
    first = terminal.getvalue()
    assert main(["ask", "规模重要吗?", "--data-dir", str(data), *extra]) == 0
    assert terminal.getvalue() == first  # from the cache: silent
# ---- language ------------------------------------------------------------------------------

ENGLISH_LABEL = ("does not cover", "It does cover", "Q:", "Interview:")


def test_ask_speaks_chinese_when_lang_is_chinese(capsys, data_dir, monkeypatch):
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    code, out, _ = run(capsys, "ask", "怎么做红烧肉?", "--data-dir", str(data_dir))
    assert code == 0
    assert "这次访谈没有谈到这个问题。" in out and "访谈谈到了：" in out
    assert not any(label in out for label in ENGLISH_LABEL)
    code, out, _ = run(capsys, "ask", "规模重要吗?", "--data-dir", str(data_dir))
    assert "问：" in out and "\n   Q:" not in out
    assert "我认为【规模】绝对是第一位的" in out  # the quote as written


def test_lang_option_wins_over_the_environment(capsys, data_dir, monkeypatch):
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    code, out, _ = run(capsys, "--lang", "zh-TW", "ask", "怎么做红烧肉?", "--data-dir",
                       str(data_dir))
    assert "這次訪談沒有談到這個問題。" in out
    code, out, _ = run(capsys, "--lang", "en", "ask", "怎么做红烧肉?", "--data-dir",
                       str(data_dir))
    assert "does not cover" in out


def test_errors_and_help_follow_the_language(capsys, data_dir, monkeypatch):
    monkeypatch.setenv("LC_ALL", "zh_TW.UTF-8")
    code, out, err = run(capsys, "ask", "   ", "--data-dir", str(data_dir))
    assert "請輸入一個問題" in assert_one_line_error(code, out, err)
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "向錄製的訪談提問" in out and "用訪談中的原話回答問題" in out


def test_unknown_lang_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--lang", "xx-YY", "topics"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--lang" in err and "zh-CN" in err and "Traceback" not in err
