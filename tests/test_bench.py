"""The bench's bundled-interview section: its parts that are cheap to check (the full run
embeds the interview, ~20 s, so it is run by hand: `python -m benchmarks.bench --bundled-only`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from benchmarks.bench import (
    _environment,
    _timed_child,
    bundled_questions,
    child_peak_rss_mb,
    main,
)


def test_bundled_questions_are_the_projects_own_sets():
    questions = bundled_questions()
    assert len(questions) >= 40
    assert all(isinstance(q, str) and q.strip() for q in questions)
    assert "OpenAI 最早的办公室在哪里?" in questions  # tests/data/paraphrase_questions.jsonl


def test_environment_is_restored_after_the_block():
    os.environ.pop("QUOTEBOT_BENCH_PROBE", None)
    os.environ["HOME_PROBE_KEEP"] = "before"
    try:
        with _environment(QUOTEBOT_BENCH_PROBE="1", HOME_PROBE_KEEP="during"):
            assert os.environ["QUOTEBOT_BENCH_PROBE"] == "1"
            assert os.environ["HOME_PROBE_KEEP"] == "during"
        assert "QUOTEBOT_BENCH_PROBE" not in os.environ
        assert os.environ["HOME_PROBE_KEEP"] == "before"
    finally:
        os.environ.pop("HOME_PROBE_KEEP", None)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_child_peak_memory_is_that_childs_own(tmp_path):
    (tmp_path / "small_probe.py").write_text("print('ok')\n")
    (tmp_path / "big_probe.py").write_text(
        "b = bytearray(120 * 2**20)\nb[::4096] = b'x' * len(b[::4096])\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    small = child_peak_rss_mb("small_probe", [], env)
    big = child_peak_rss_mb("big_probe", [], env)
    assert small is not None and big is not None
    assert small < 100 <= big - small  # MB: the child's pages, not this test process's
    with pytest.raises(RuntimeError, match="failed"):
        child_peak_rss_mb("no_such_module_here", [], env)


def test_timed_child_returns_stdout_and_raises_on_failure():
    wall, out = _timed_child([sys.executable, "-c", "print('ok')"], dict(os.environ))
    assert out.strip() == "ok" and wall > 0
    with pytest.raises(RuntimeError, match="failed"):
        _timed_child([sys.executable, "-c", "raise SystemExit(3)"], dict(os.environ))


def test_bundled_only_refuses_cold_start():
    with pytest.raises(SystemExit):
        main(["--bundled-only", "--cold-start"])
