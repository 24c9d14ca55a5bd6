"""Stop signals and child processes: workers that leave Ctrl-C and SIGTERM to the process that owns them.

A terminal's Ctrl-C reaches every process of the foreground group. Worker processes started inside
:func:`children_ignore_stop_signals` inherit SIGINT and SIGTERM as ignored, so only the parent reacts:
it stops the run, saves what is finished, and closes its workers (no traceback from each worker).
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def children_ignore_stop_signals() -> Iterator[None]:
    """Processes started inside the block ignore SIGINT and SIGTERM; this process's handlers come back
    after it (only the main thread can change them; elsewhere this does nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
