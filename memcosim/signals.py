"""Ctrl-C and child processes: workers that leave a terminal's Ctrl-C to the process that owns them.

A terminal's Ctrl-C (SIGINT) reaches every process of the foreground group. Worker processes started
inside :func:`children_ignore_ctrl_c` inherit SIGINT as ignored, so only the parent reacts: it stops
the run, saves what is finished, and closes its workers (no traceback from each worker). SIGTERM is
left alone: it is how a parent ends its workers (``Pool.terminate``), and it is sent to one process,
not to the group.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import threading
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator, TypeVar

from memcosim.errors import interrupt_for

T = TypeVar("T")
R = TypeVar("R")


# signals the command line's handler raised and that no code has taken yet (see raise_pending_interrupt)
_pending: list[int] = []


def interrupt_handler(signum: int, frame: object) -> None:
    """The command line's SIGINT / SIGTERM handler: notes the signal, then raises ``KeyboardInterrupt``
    (:class:`~memcosim.errors.TerminateSignal` for SIGTERM)."""
    _pending.append(signum)
    raise interrupt_for(signum)


def raise_pending_interrupt() -> None:
    """Raise again an interrupt from :func:`interrupt_handler` that was swallowed where it was raised.

    A handler's exception raised inside a garbage-collector callback (Dask registers one) or a C library's
    callback into Python is printed and dropped, and the run would go on. Long waits call this at safe points:
    it raises the noted interrupt once. Code that has taken an interrupt calls :func:`clear_pending_interrupts`."""
    if _pending:
        signum = _pending[-1]
        _pending.clear()
        raise interrupt_for(signum)


def clear_pending_interrupts() -> None:
    """Forget the interrupts noted by :func:`interrupt_handler` (they have been taken)."""
    _pending.clear()


@contextmanager
def children_ignore_ctrl_c() -> Iterator[None]:
    """Processes started inside the block ignore SIGINT; this process's handler comes back after it
    (only the main thread can change handlers; elsewhere this does nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def unordered_results(fn: Callable[[T], R], tasks: Iterable[T], workers: int) -> Iterator[Iterator[R]]:
    """``fn`` over ``tasks``: in this process one after another (``workers == 1``), else in a pool of
    ``workers`` spawned processes that leave Ctrl-C to this one, results in the order they finish.

    On Ctrl-C or SIGTERM (``KeyboardInterrupt``) inside the block the pool is terminated at once and the
    interrupt goes on; otherwise the pool is closed and joined when the block ends (also on an error)."""
    if workers == 1:
        yield map(fn, tasks)
        return
    with children_ignore_ctrl_c():
        pool = mp.get_context("spawn").Pool(workers)
    try:
        yield pool.imap_unordered(fn, tasks)
    except KeyboardInterrupt:
        pool.terminate()
        raise
    finally:
        pool.close()  # no-op after terminate
        pool.join()
