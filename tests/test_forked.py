"""`bot.forked`: forked maps give the serial result in order; forked workers run once each.

Forking needs a process without threads, and the test process has some (other tests' bots,
the SQLite store's worker), so whatever forks runs in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading

import pytest

from bot import forked
from tests.paths import REPO

pytestmark = pytest.mark.skipif(
    "fork" not in __import__("multiprocessing").get_all_start_methods() or sys.platform == "darwin",
    reason="no fork on this platform",
)


def _fresh(code: str) -> dict:
    """Run ``code`` in a new interpreter (no threads); it prints one JSON object."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, capture_output=True,
        text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_forked_workers_give_the_serial_result_in_order():
    found = _fresh("""
        import json, os, threading
        from bot.forked import fork_is_safe, map_chunks_forked
        offset = {"value": 7}  # a closure over a local: unpicklable, inherited by fork
        heard = []
        chunks = map_chunks_forked(
            lambda part: [(x * x + offset["value"], os.getpid()) for x in part],
            list(range(5000)), chunk=700, workers=2, min_items=1, progress=heard.append)
        result = [pair for chunk in chunks for pair in chunk]
        print(json.dumps({"values": [v for v, _ in result], "pids": sorted({p for _, p in result}),
                          "me": os.getpid(), "heard": heard, "safe_after": fork_is_safe()}))
    """)
    assert found["values"] == [x * x + 7 for x in range(5000)]
    assert found["pids"] and found["me"] not in found["pids"]  # really computed elsewhere
    assert found["heard"] == sorted(found["heard"]) and found["heard"][-1] == 5000
    assert found["safe_after"]  # no pool thread outlives the map: a later fork stays safe


def test_forked_chunks_give_one_result_per_chunk_in_order():
    found = _fresh("""
        import json, os
        from bot.forked import map_chunks_forked
        heard = []
        result = map_chunks_forked(lambda part: (list(part), os.getpid()), list(range(4500)),
                                   chunk=1000, workers=2, min_items=1, progress=heard.append)
        serial = map_chunks_forked(lambda part: list(part), list(range(4500)), chunk=1000,
                                   workers=1)
        print(json.dumps({"parts": [p for p, _ in result], "pids": sorted({p for _, p in result}),
                          "me": os.getpid(), "heard": heard, "serial": serial}))
    """)
    expected = [list(range(start, min(start + 1000, 4500))) for start in range(0, 4500, 1000)]
    assert found["parts"] == expected == found["serial"]
    assert found["pids"] and found["me"] not in found["pids"]
    assert found["heard"] == [1000, 2000, 3000, 4000, 4500]


def test_serve_forked_runs_each_worker_once_in_its_own_process(tmp_path):
    found = _fresh(f"""
        import json, os
        from pathlib import Path
        from bot.forked import serve_forked
        loaded = "loaded once, before the fork"

        def serve(number):
            Path({str(tmp_path)!r}, str(number)).write_text(f"{{os.getpid()}} {{loaded}}")
            return 0

        print(json.dumps({{"code": serve_forked(3, serve), "me": os.getpid()}}))
    """)
    assert found["code"] == 0
    written = {p.name: p.read_text().split(" ", 1) for p in tmp_path.iterdir()}
    assert sorted(written) == ["0", "1", "2"]
    pids = {pid for pid, _ in written.values()}
    assert len(pids) == 3 and str(found["me"]) not in pids
    assert {text for _, text in written.values()} == {"loaded once, before the fork"}


def test_a_failing_worker_stops_the_others_and_gives_its_exit_code(tmp_path):
    found = _fresh(f"""
        import json, time
        from pathlib import Path
        from bot.forked import serve_forked

        def serve(number):
            if number == 0:
                return 3
            time.sleep(60)  # stopped by the parent long before this ends
            Path({str(tmp_path)!r}, "finished").write_text("no")
            return 0

        started = time.monotonic()
        code = serve_forked(2, serve)
        print(json.dumps({{"code": code, "seconds": time.monotonic() - started}}))
    """)
    assert found["code"] == 3
    assert found["seconds"] < 30
    assert not (tmp_path / "finished").exists()


def test_a_worker_killed_by_a_signal_is_started_again(tmp_path):
    """kill -9 (or the OOM killer) takes one worker: it comes back, the others run on."""
    found = _fresh(f"""
        import json, os, signal, time
        from pathlib import Path
        from bot.forked import serve_forked

        def serve(number):
            runs = Path({str(tmp_path)!r}, str(number))
            with runs.open("a") as handle:
                handle.write(f"{{os.getpid()}}\\n")
            if number == 0 and len(runs.read_text().split()) == 1:
                os.kill(os.getpid(), signal.SIGKILL)
            return 0

        print(json.dumps({{"code": serve_forked(2, serve)}}))
    """)
    assert found["code"] == 0
    first = (tmp_path / "0").read_text().split()
    assert len(first) == 2 and first[0] != first[1]  # killed once, started again
    assert len((tmp_path / "1").read_text().split()) == 1  # the other ran undisturbed


def test_a_worker_that_keeps_dying_stops_the_bot(tmp_path):
    """A crash loop is not restarted forever: after the limit it is a failure (128 + 9)."""
    found = _fresh(f"""
        import json, os, signal, time
        from pathlib import Path
        from bot.forked import serve_forked

        def serve(number):
            if number == 0:
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(60)  # stopped by the parent long before this ends
            Path({str(tmp_path)!r}, "finished").write_text("no")
            return 0

        started = time.monotonic()
        code = serve_forked(2, serve, restarts=2)
        print(json.dumps({{"code": code, "seconds": time.monotonic() - started}}))
    """)
    assert found["code"] == 128 + 9
    assert found["seconds"] < 30
    assert not (tmp_path / "finished").exists()


def _squares_with_pid(part: list[int]) -> list[tuple[int, int]]:
    return [(x * x, os.getpid()) for x in part]


def test_small_work_and_threaded_processes_stay_in_this_process():
    [small] = forked.map_chunks_forked(_squares_with_pid, [1, 2, 3])
    assert {pid for _, pid in small} == {os.getpid()}
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not forked.fork_is_safe()
        chunks = forked.map_chunks_forked(_squares_with_pid, list(range(3_000)), workers=2,
                                          min_items=1)
        result = [pair for chunk in chunks for pair in chunk]
        assert [v for v, _ in result] == [x * x for x in range(3_000)]
        assert {pid for _, pid in result} == {os.getpid()}
    finally:
        stop.set()
        thread.join()


def test_serve_forked_refuses_while_threads_run():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        with pytest.raises(RuntimeError, match="cannot fork"):
            forked.serve_forked(2, lambda number: 0)
    finally:
        stop.set()
        thread.join()


def test_start_forked_runs_in_a_child_and_reports_its_outcome(tmp_path):
    found = _fresh(f"""
        import json, os
        from pathlib import Path
        from bot.forked import start_forked
        target = Path({str(tmp_path)!r}, "out")
        wait = start_forked(lambda: target.write_text(str(os.getpid())))
        ok = wait()
        failed = start_forked(lambda: 1 / 0)
        print(json.dumps({{"ok": ok, "again": wait(), "failed": failed(), "me": os.getpid(),
                          "child": int(target.read_text())}}))
    """)
    assert found["ok"] and found["again"] and not found["failed"]
    assert found["child"] != found["me"]


def test_start_forked_declines_where_threads_run():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert forked.start_forked(lambda: None) is None
    finally:
        stop.set()
        thread.join()
