"""Ctrl-C and child processes: workers that leave a terminal's Ctrl-C to the process that owns them.

A terminal's Ctrl-C (SIGINT) reaches every process of the foreground group. Worker processes started
inside :func:`children_ignore_ctrl_c` inherit SIGINT as ignored, so only the parent reacts: it stops
the run, saves what is finished, and closes its workers (no traceback from each worker). SIGTERM is
left alone: it is how a parent ends its workers (``Pool.terminate``), and it is sent to one process,
not to the group.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator


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
