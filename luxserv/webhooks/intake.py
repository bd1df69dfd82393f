"""Group commit for webhooks: the deliveries that arrive while one batch is being applied go together in the next.

One thread per web process applies the batches (`flows.receive_together`: one transaction, one disk flush, each
event on its own savepoint). An idle server applies a lone delivery at once, so batching adds no wait; under load
the batches grow by themselves, and so does the throughput. SQLite has one writer at a time anyway, so nothing
that could run in parallel is serialized; on PostgreSQL each web process has its own thread.

A delivery whose payload needs the provider's API (a call that may take seconds) is not held up behind the
others, nor holds them up: it goes through `flows.receive` on a thread of its own, like every delivery of a batch
whose transaction hit a database error. The sender is answered only after its event is committed. A sender that
hangs up before its delivery's turn comes leaves nothing behind: the delivery is dropped unstored (never
acknowledged, it is the sender's to retry), so an overloaded server spends its time on senders still waiting.
Once its turn has come, the event is stored and applied whether or not anyone is left to hear the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from starlette.types import Message

from luxserv.core.database import Database
from luxserv.inbox import flows
from luxserv.inbox.service import NewEvent
from luxserv.integrations.registry import Providers

log = logging.getLogger(__name__)
MAX_BATCH = 32  # a batch holds SQLite's write lock while it runs: enough to amortize a commit, short enough to share


class SenderGone(Exception):
    """The sender hung up before its delivery's turn came. The delivery was neither stored nor applied: it was never
    acknowledged, so it is the sender's to deliver again, and its place went to senders still waiting."""


@dataclass(eq=False)
class _Delivery:
    new: NewEvent
    providers: Providers
    actor: str
    loop: asyncio.AbstractEventLoop
    answer: asyncio.Future[flows.Receipt]
    state: str = "waiting"  # then "taken" by the intake thread, or "abandoned" by a sender who hung up first


class Intake:
    """Applies webhook events in batches on one thread; `receive` is awaited by the route.

    Each delivery comes with the providers that verified it (the app's, which tests may replace).
    """

    def __init__(self, db: Database, *, max_batch: int = MAX_BATCH) -> None:
        self._db = db
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Delivery | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._turns = threading.Lock()
        self._alone: ThreadPoolExecutor | None = None  # made on first use, again after `close`

    async def receive(
        self,
        new: NewEvent,
        providers: Providers,
        *,
        actor: str,
        hang_up: Callable[[], Awaitable[Message]] | None = None,
    ) -> flows.Receipt:
        """Store and apply the event; returns once it is committed (with or without the others of its batch).

        `hang_up` is the request's ASGI `receive`, which gives `http.disconnect` when the sender hangs up: if that
        happens before the delivery's turn, it is dropped and `SenderGone` raised.
        """
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[flows.Receipt] = loop.create_future()
        delivery = _Delivery(new, providers, actor, loop, answer)
        self._start()
        self._queue.put(delivery)
        if hang_up is None:
            return await answer
        watcher = loop.create_task(self._watch(delivery, hang_up))
        try:
            return await answer
        finally:
            watcher.cancel()

    async def _watch(self, delivery: _Delivery, hang_up: Callable[[], Awaitable[Message]]) -> None:
        try:
            while (await hang_up())["type"] != "http.disconnect":
                pass
        except Exception:  # a server that cannot tell: the delivery simply waits its turn
            return
        if self._claim(delivery, "abandoned") and not delivery.answer.done():
            delivery.answer.set_exception(SenderGone("the sender hung up before its delivery was stored"))

    def _claim(self, delivery: _Delivery, state: str) -> bool:
        """Move a waiting delivery to `state`; False if the intake took it or its sender left first."""
        with self._turns:
            if delivery.state != "waiting":
                return False
            delivery.state = state
            return True

    def close(self) -> None:
        """Apply what is queued, then stop the threads. A later `receive` starts them again (an app whose
        lifespan runs twice, as in tests)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()
        with self._lock:
            alone, self._alone = self._alone, None
        if alone is not None:
            alone.shutdown(wait=True)

    def _start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="luxserv-intake", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        carried: _Delivery | None = None  # the first of the next batch (it came with other providers)
        while True:
            first = carried if carried is not None else self._queue.get()
            carried = None
            if first is None:
                return
            if not self._claim(first, "taken"):
                continue
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    following = self._queue.get_nowait()
                except queue.Empty:
                    break
                if following is None:  # closing: finish this batch first
                    self._queue.put(None)
                    break
                if following.providers is not first.providers:  # the app's providers were replaced meanwhile
                    carried = following
                    break
                if self._claim(following, "taken"):
                    batch.append(following)
            try:
                self._apply(batch)
            except BaseException as error:  # never leave a sender waiting on a thread that is gone
                for delivery in batch:
                    _settle(delivery, None, error)
                if not isinstance(error, Exception):
                    raise

    def _apply(self, batch: list[_Delivery]) -> None:
        try:
            receipts = flows.receive_together(
                self._db, batch[0].providers, [d.new for d in batch], actor=[d.actor for d in batch]
            )
        except Exception:
            log.exception("a batch of %d webhook events failed; applying each alone", len(batch))
            receipts = [None] * len(batch)
        for delivery, receipt in zip(batch, receipts, strict=True):
            if receipt is None:
                self._alone_pool().submit(self._receive_alone, delivery)
            else:
                _settle(delivery, receipt, None)

    def _alone_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._alone is None:
                self._alone = ThreadPoolExecutor(max_workers=8, thread_name_prefix="luxserv-intake-call")
            return self._alone

    def _receive_alone(self, delivery: _Delivery) -> None:
        try:
            receipt = flows.receive(self._db, delivery.providers, delivery.new, actor=delivery.actor)
        except BaseException as error:  # the route answers it (a database that is down: 503)
            _settle(delivery, None, error)
            return
        _settle(delivery, receipt, None)


def _settle(delivery: _Delivery, receipt: flows.Receipt | None, error: BaseException | None) -> None:
    def settle() -> None:
        if delivery.answer.done():  # the sender went away; its event is kept all the same
            return
        if error is not None:
            delivery.answer.set_exception(error)
        else:
            delivery.answer.set_result(receipt)  # type: ignore[arg-type]

    with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
        delivery.loop.call_soon_threadsafe(settle)
