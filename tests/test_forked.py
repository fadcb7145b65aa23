"""`bot.forked.map_forked`: the same results in the same order, forked or not."""

from __future__ import annotations

import os
import threading
import time

import pytest

from bot import forked


def _square_with_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def test_forked_workers_give_the_serial_result_in_order(fork_safe):
    items = list(range(5_000))
    heard: list[int] = []
    result = forked.map_forked(_square_with_pid, items, workers=2, min_items=1,
                               progress=heard.append)
    assert [value for value, _ in result] == [x * x for x in items]
    assert {pid for _, pid in result} - {os.getpid()}  # really computed elsewhere
    assert heard == sorted(heard) and heard[-1] == len(items)


def test_closures_reach_the_workers_without_pickling():
    offset = {"value": 7}  # a closure over a local: unpicklable, inherited by fork
    result = forked.map_forked(lambda x: x + offset["value"], list(range(3_000)),
                               workers=2, min_items=1)
    assert result == [x + 7 for x in range(3_000)]


def test_small_work_and_threaded_processes_stay_in_this_process():
    assert {pid for _, pid in forked.map_forked(_square_with_pid, [1, 2, 3])} == {os.getpid()}
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not forked.fork_is_safe()
        result = forked.map_forked(_square_with_pid, list(range(3_000)), workers=2,
                                   min_items=1)
        assert {pid for _, pid in result} == {os.getpid()}
    finally:
        stop.set()
        thread.join()


@pytest.fixture
def fork_safe() -> None:
    if not forked.fork_is_safe():  # checked when the test runs: another test may leave a thread
        pytest.skip("fork is unavailable on this platform, or a thread is running")


def test_serve_forked_runs_each_worker_once_in_its_own_process(tmp_path, fork_safe):
    loaded = {"library": "loaded once, before the fork"}

    def serve(number: int) -> int:
        (tmp_path / f"{number}").write_text(f"{os.getpid()} {loaded['library']}")
        return 0

    assert forked.serve_forked(3, serve) == 0
    written = {p.name: p.read_text().split(" ", 1) for p in tmp_path.iterdir()}
    assert sorted(written) == ["0", "1", "2"]
    pids = {pid for pid, _ in written.values()}
    assert len(pids) == 3 and str(os.getpid()) not in pids
    assert {text for _, text in written.values()} == {loaded["library"]}


def test_a_failing_worker_stops_the_others_and_gives_its_exit_code(tmp_path, fork_safe):
    def serve(number: int) -> int:
        if number == 0:
            return 3
        time.sleep(60)  # stopped by the parent long before this ends
        (tmp_path / "finished").write_text("no")
        return 0

    started = time.monotonic()
    assert forked.serve_forked(2, serve) == 3
    assert time.monotonic() - started < 30
    assert not (tmp_path / "finished").exists()


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


def test_no_thread_outlives_a_forked_map(fork_safe):
    forked.map_forked(_square_with_pid, list(range(3_000)), workers=2, min_items=1)
    assert forked.fork_is_safe()  # a later serve_forked may still fork
