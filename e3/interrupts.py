"""Holding off a second interrupt while a stop is being written down.

Ctrl-C in a terminal reaches every process of the group, and Dagster's multiprocess executor then
forwards one more interrupt to the step's process: raised in the middle of the cleanup that
records the first one (a catalog row, the queue's leases), it left them saying "processing".
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """SIGINT and SIGTERM are ignored inside (main thread only: elsewhere signals cannot be
    handled). The caller is already stopping, so one that arrives here has nothing more to say
    and is dropped."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in held:
        signal.signal(sig, signal.SIG_IGN)
    try:
        yield
    finally:
        for sig, handler in held.items():
            signal.signal(sig, handler)
