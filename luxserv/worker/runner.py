"""The in-process worker loop (under `luxserv serve`): inbox retries, periodic jobs (provider syncs), the outbox.

The standalone, multi-machine `luxserv worker` runs the same steps.
"""

from __future__ import annotations

import logging
import threading

from luxserv.core.database import Database
from luxserv.core.settings import Settings
from luxserv.inbox import flows
from luxserv.integrations.registry import Providers
from luxserv.outbox.sender import sender_from_settings
from luxserv.outbox.worker import deliver_due
from luxserv.worker import jobs
from luxserv.worker.stop import StopSignal

log = logging.getLogger(__name__)


def run_once(
    db: Database, providers: Providers, settings: Settings | None = None, *, stop: StopSignal | None = None
) -> int:
    """One pass over everything due: inbox retries, periodic jobs, then the outbox. Returns how many were handled.

    With `stop`, the pass ends early once it is set: no new step starts, and the outbox step finishes the message
    in hand and releases the rest of its batch.
    """
    handled = flows.process_due(db, providers)
    if settings is None or (stop is not None and stop.is_set()):
        return handled
    handled += jobs.run_due(db, providers, settings)
    if stop is not None and stop.is_set():
        return handled
    handled += deliver_due(db, sender_from_settings(settings), lease_seconds=settings.outbox_lease_seconds, stop=stop)
    return handled


class BackgroundWorker:
    """A daemon thread calling `run_once` every `interval` seconds until `stop()`."""

    def __init__(
        self, db: Database, providers: Providers, *, interval: float, settings: Settings | None = None
    ) -> None:
        self._db = db
        self._settings = settings
        self._providers = providers
        self._interval = interval
        self._stop = StopSignal()
        self._thread = threading.Thread(target=self._loop, name="luxserv-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> int:
        """Ask the loop to stop and wait up to `timeout` seconds; returns how many claimed messages it released."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        return self._stop.released

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                run_once(self._db, self._providers, self._settings, stop=self._stop)
            except Exception:
                log.exception("worker pass failed; trying again in %.0fs", self._interval)
            self._stop.wait(self._interval)
