"""A real SMTP server (aiosmtpd) for tests that need to slow it down or hold a message mid-DATA."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class MailServer:
    """Keeps every envelope whose DATA arrived. `delay` slows each answer (without blocking the server loop);
    `hold_first()` makes the first DATA wait for `release()` after it has been received, as a server that took the
    message but had not yet said so when the client died. `answer` refuses DATA with that reply instead."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay
        self.answer: str | None = None
        self.envelopes: list[Envelope] = []
        self.data_started = threading.Event()  # set when a DATA arrives; tests wait on it
        self._hold: threading.Event | None = None
        self.holding = threading.Event()  # set while the first DATA is held
        self._lock = threading.Lock()

    def hold_first(self) -> None:
        self._hold = threading.Event()

    def release(self) -> None:
        if self._hold is not None:
            self._hold.set()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._lock:
            if self.answer is None:
                self.envelopes.append(envelope)
            first = len(self.envelopes) == 1
        self.data_started.set()
        if self._hold is not None and first:
            self.holding.set()
            while not self._hold.is_set():
                await asyncio.sleep(0.02)
        if self.delay:
            await asyncio.sleep(self.delay)
        return self.answer or "250 OK"

    def count(self) -> int:
        with self._lock:
            return len(self.envelopes)

    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return [
                cast(EmailMessage, message_from_bytes(cast(bytes, e.content), policy=policy.default))
                for e in self.envelopes
            ]

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.messages()]

    def wait_for(self, count: int, timeout: float) -> bool:
        """True once at least `count` envelopes arrived; False after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count() >= count:
                return True
            time.sleep(0.02)
        return self.count() >= count


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running(server: MailServer) -> Iterator[int]:
    """Serve `server` on a free loopback port; yields the port."""
    port = free_port()
    controller = Controller(server, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        server.release()
        controller.stop()
