"""Asking a worker to stop: set by SIGTERM or Ctrl-C (`luxserv worker`) or the app's shutdown (in-process worker).

Worker steps check it between items, never in the middle of one: a message being sent is finished and recorded,
and what was claimed but not started is handed back at once (`released` counts it) instead of waiting for its lease.
"""

from __future__ import annotations

import threading


class StopSignal:
    """A stop request shared by the thread that asks and the worker loop that obeys."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._released = 0

    def set(self) -> None:
        """Ask the worker to stop (safe from a signal handler: it only sets a flag)."""
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        """Sleep up to `timeout` seconds, waking at once when a stop is asked; True if it was."""
        return self._event.wait(timeout)

    def handed_back(self, count: int) -> None:
        """Record that `count` claimed items were released unprocessed on the way out."""
        with self._lock:
            self._released += count

    @property
    def released(self) -> int:
        """How many claimed items were released because of this stop."""
        with self._lock:
            return self._released
