"""The in-process worker loop (under `luxserv serve`): retries inbox events that were never applied or failed.

The standalone, multi-machine `luxserv worker` runs the same steps.
"""

from __future__ import annotations

import logging
import threading

from luxserv.core.database import Database
from luxserv.inbox import flows
from luxserv.integrations.registry import Providers

log = logging.getLogger(__name__)


def run_once(db: Database, providers: Providers) -> int:
    """One pass over everything due. Returns how many items were handled."""
    return flows.process_due(db, providers)


class BackgroundWorker:
    """A daemon thread calling `run_once` every `interval` seconds until `stop()`."""

    def __init__(self, db: Database, providers: Providers, *, interval: float) -> None:
        self._db = db
        self._providers = providers
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="luxserv-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                run_once(self._db, self._providers)
            except Exception:
                log.exception("worker pass failed; trying again in %.0fs", self._interval)
            self._stop.wait(self._interval)
