"""Forked processes: spread a big computation over the cores, or serve from several
processes that share one loaded library (`serve_forked`).

A first build of a large library spends most of its time tokenising passages, one at a
time. Forked workers inherit the loaded tokenizer as it is (nothing is pickled on the way
in, only the results on the way back), so a build uses every core it may. Forking is only
done where it is safe: on a platform with ``fork``, from a process that runs no other thread
(no event loop executor, no discord.py gateway thread), and for work big enough to pay for
the start-up. Everywhere else the work runs in this process, with the same result.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS = 20_000  # below this, forking costs more than it saves
MAX_WORKERS = 4
CHUNK = 2_000  # items per task: big enough to amortise pickling, small for even progress
RESTART_LIMIT = 5  # a served child killed by a signal is started again this often …
RESTART_WINDOW = 60.0  # … within this many seconds; more is a crash loop: stop


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
    def __init__(self, fn: Callable[[Sequence[T]], R], items: Sequence[T]) -> None:
        self.fn = fn
        self.items = items


_job: _Job | None = None  # inherited by forked workers; never pickled


def _run(bounds: tuple[int, int]) -> object:
    assert _job is not None
    start, stop = bounds
    return _job.fn(_job.items[start:stop])


def map_chunks_forked(
    fn: Callable[[Sequence[T]], R],
    items: Sequence[T],
    *,
    chunk: int = CHUNK,
    workers: int | None = None,
    min_items: int = MIN_ITEMS,
    progress: Callable[[int], None] | None = None,
) -> list[R]:
    """``[fn(items[i:i + chunk]) for i in range(0, len(items), chunk)]``, over forked
    workers when that is safe and worth it.

    ``fn`` and ``items`` reach the workers by fork, so ``fn`` may be any closure; its results
    must pickle (one result per chunk: a worker can return compact arrays rather than one
    object per item). ``progress`` hears how many items are done, after each chunk.
    """
    global _job
    if workers is None:
        workers = min(available_cores(), MAX_WORKERS)
    bounds = [(start, min(start + chunk, len(items))) for start in range(0, len(items), chunk)]
    results: list[R] = []
    if workers < 2 or len(items) < min_items or not fork_is_safe():
        for start, stop in bounds:
            results.append(fn(items[start:stop]))
            if progress is not None:
                progress(stop)
        return results
    _job = _Job(fn, items)
    # The workers inherit this process's objects: frozen, the collector in a worker never
    # walks them (which would cost time and copy every page it touches into the worker).
    # No collection first (a quarter of a second at 100,000 passages): garbage frozen with
    # them is only kept until the unfreeze below.
    gc.freeze()
    try:
        context = multiprocessing.get_context("fork")
        with context.Pool(workers) as pool:
            for (_, stop), result in zip(bounds, pool.imap(_run, bounds), strict=True):
                results.append(result)
                if progress is not None:
                    progress(stop)
    finally:
        gc.unfreeze()
        _job = None
    log.debug("mapped %d items over %d forked workers", len(items), workers)
    return results


def start_forked(fn: Callable[[], object]) -> Callable[[], bool] | None:
    """Start ``fn()`` in a forked child and return at once, for work whose result the child
    leaves on disk (a cache file) while this process goes on with other work.

    Returns ``wait``, which waits for the child and says whether it succeeded (call it once
    the result is needed, and in any case before returning; calling it again is harmless),
    or None when forking is not safe here: the caller then does the work itself.
    """
    if not fork_is_safe():
        return None
    pid = os.fork()
    if pid == 0:  # the child: do the work, then leave without running the parent's cleanup
        code = 1
        try:
            fn()
            code = 0
        except BaseException:  # noqa: BLE001 - reported by the exit code; the parent copes
            pass
        finally:
            os._exit(code)
    outcome: list[bool] = []

    def wait() -> bool:
        if not outcome:
            _, status = os.waitpid(pid, 0)
            outcome.append(os.waitstatus_to_exitcode(status) == 0)
        return outcome[0]

    return wait


def serve_forked(
    count: int,
    target: Callable[[int], int | None],
    *,
    restarts: int = RESTART_LIMIT,
    window: float = RESTART_WINDOW,
) -> int:
    """Run ``target(0)`` … ``target(count - 1)`` in forked children; wait for them all.

    For several long-lived servers on one machine (one per group of Discord shards): the
    caller loads the library first, then calls this, so every child shares the parent's
    pages — the memory-mapped index, and the interpreter's own objects, which `gc.freeze`
    keeps the collector from touching (and so from copying). Four children then cost about
    1.25 times what one process does, four separate processes about 1.75 times (at 100,000
    passages). A child that reloads its library gets a copy of its own.

    SIGTERM or SIGINT to this process is passed on to every child. A child killed by a
    signal of its own (``kill -9``, the OOM killer, a crash) is forked again from the loaded
    parent, so its shards come back in a second — at most ``restarts`` times in ``window``
    seconds, after which it counts as failed. When a child fails (a non-zero exit: a bad
    token, a broken config — restarting would only repeat it), the others are stopped.
    Returns the first failure's exit code (128 + signal for a signal), or 0.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    if not fork_is_safe():
        raise RuntimeError("cannot fork here: no fork on this platform, or threads are running")
    gc.collect()
    gc.freeze()
    children: dict[int, int] = {}
    started: dict[int, list[float]] = {number: [] for number in range(count)}
    stopping = False
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def stop(signum: int = signal.SIGTERM, frame: object = None) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def spawn(number: int) -> None:
        # Signals wait until the child has its own handlers back (and the parent knows the
        # child's pid), so a SIGTERM in between is never lost or misdirected.
        signal.pthread_sigmask(signal.SIG_BLOCK, previous)
        pid = os.fork()
        if pid == 0:  # the child: serve, then leave without running the parent's cleanup
            code = 1
            try:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, previous)
                code = target(number) or 0
            except BaseException:
                log.exception("forked worker %d failed", number)
            finally:
                logging.shutdown()
                os._exit(code)
        children[pid] = number
        started[number].append(time.monotonic())
        signal.pthread_sigmask(signal.SIG_UNBLOCK, previous)
        log.info("forked worker %d as process %d", number, pid)

    def may_restart(number: int, code: int) -> bool:
        if stopping or code >= 0 or -code in (signal.SIGTERM, signal.SIGINT):
            return False
        recent = [t for t in started[number] if time.monotonic() - t < window]
        started[number] = recent
        return len(recent) <= restarts

    for sig in previous:
        signal.signal(sig, stop)
    try:
        for number in range(count):
            spawn(number)
        result = 0
        while children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            number = children.pop(pid, None)
            if number is None:
                continue
            code = os.waitstatus_to_exitcode(status)
            if may_restart(number, code):
                log.warning("worker %d (process %d) was killed by signal %d: starting it again",
                            number, pid, -code)
                spawn(number)
                continue
            log.info("worker %d (process %d) exited with %d", number, pid, code)
            if code != 0 and result == 0:
                result = code if code > 0 else 128 - code
                stop()
        return result
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        gc.unfreeze()
