"""Spread a big, pure computation over the machine's cores with forked processes.

A first build of a large library spends most of its time tokenising passages, one at a
time. Forked workers inherit the loaded tokenizer as it is (nothing is pickled on the way
in, only the results on the way back), so a build uses every core it may. Forking is only
done where it is safe: on a platform with ``fork``, from a process that runs no other thread
(no event loop executor, no discord.py gateway thread), and for work big enough to pay for
the start-up. Everywhere else the work runs in this process, with the same result.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS = 20_000  # below this, forking costs more than it saves
MAX_WORKERS = 4
CHUNK = 2_000  # items per task: big enough to amortise pickling, small for even progress


def available_cores() -> int:
    """Cores this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def fork_is_safe() -> bool:
    """True where ``fork`` exists and this process runs no other thread.

    A thread holding a lock at the moment of a fork leaves that lock held forever in the
    child, so a process with threads (an event loop's executor, a bot) never forks; macOS's
    system libraries are not fork-safe either.
    """
    return (
        sys.platform != "darwin"
        and "fork" in multiprocessing.get_all_start_methods()
        and threading.active_count() == 1
    )


class _Job(Generic[T, R]):
    def __init__(self, fn: Callable[[T], R], items: Sequence[T]) -> None:
        self.fn = fn
        self.items = items


_job: _Job | None = None  # inherited by forked workers; never pickled


def _run(bounds: tuple[int, int]) -> list:
    assert _job is not None
    start, stop = bounds
    fn = _job.fn
    return [fn(item) for item in _job.items[start:stop]]


def map_forked(
    fn: Callable[[T], R],
    items: Sequence[T],
    *,
    workers: int | None = None,
    min_items: int = MIN_ITEMS,
    progress: Callable[[int], None] | None = None,
) -> list[R]:
    """``[fn(x) for x in items]``, over forked workers when that is safe and worth it.

    ``fn`` and ``items`` reach the workers by fork, so ``fn`` may be any closure; the results
    must pickle. ``progress`` hears how many items are done, after each chunk.
    """
    global _job
    if workers is None:
        workers = min(available_cores(), MAX_WORKERS)
    if workers < 2 or len(items) < min_items or not fork_is_safe():
        out: list[R] = []
        for start in range(0, len(items), CHUNK):
            out.extend(fn(item) for item in items[start:start + CHUNK])
            if progress is not None:
                progress(len(out))
        return out
    bounds = [(start, min(start + CHUNK, len(items))) for start in range(0, len(items), CHUNK)]
    _job = _Job(fn, items)
    try:
        context = multiprocessing.get_context("fork")
        with context.Pool(workers) as pool:
            results: list[R] = []
            for chunk in pool.imap(_run, bounds):
                results.extend(chunk)
                if progress is not None:
                    progress(len(results))
    finally:
        _job = None
    log.debug("mapped %d items over %d forked workers", len(items), workers)
    return results
