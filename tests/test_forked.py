"""`bot.forked.map_forked`: the same results in the same order, forked or not."""

from __future__ import annotations

import os
import threading

import pytest

from bot import forked


def _square_with_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


@pytest.mark.skipif(not forked.fork_is_safe(), reason="fork is unavailable on this platform")
def test_forked_workers_give_the_serial_result_in_order():
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
