"""Load generators over loopback (asyncio + httpx): a fixed offered load (open loop) and saturation (closed loop).

Open loop: request i is sent at start + i / rate whether or not earlier ones have been answered, and its
latency counts from that scheduled time, so a slow server cannot slow the sender down and hide its own queueing
(no coordinated omission). Closed loop: N senders each send the next request as soon as the previous one is
answered, for a fixed time; the answered-per-second rate is the saturation throughput.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import httpx

from bench.support import percentile
from bench.webhooks.traffic import Delivery, Traffic


@dataclass(frozen=True)
class Sample:
    delivery: Delivery
    status: int | None  # None: timed out or the connection failed
    latency: float  # seconds, from the scheduled send time to the complete answer
    lag: float  # seconds the sender itself started late (a starved sender shows here, not as server latency)
    error: str = ""

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class Phase:
    """The summary of one measured phase against one server."""

    name: str
    seconds: float  # from the first send to the last answer
    sent: int
    acknowledged: int
    accepted_for_retry: int  # 202: stored, applied later by the worker
    errors: int
    throughput: float  # acknowledged per second
    p50_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_ms_per_request: float
    client_cpu_ms_per_request: float  # this process: if it nears 1000 / throughput, the sender is the bottleneck
    p99_lag_ms: float  # how late the sender started its requests (open loop: behind schedule)
    error_examples: tuple[str, ...]

    @classmethod
    def of(cls, name: str, samples: list[Sample], seconds: float, server_cpu: float, client_cpu: float) -> Phase:
        latencies = sorted(s.latency * 1000 for s in samples)
        acknowledged = sum(s.acknowledged for s in samples)
        failed = [s for s in samples if not s.acknowledged]
        examples = sorted({f"{s.status or 'no answer'}: {s.error}"[:160] for s in failed})[:5]
        return cls(
            name=name,
            seconds=seconds,
            sent=len(samples),
            acknowledged=acknowledged,
            accepted_for_retry=sum(s.status == 202 for s in samples),
            errors=len(failed),
            throughput=acknowledged / seconds if seconds > 0 else 0.0,
            p50_ms=percentile(latencies, 50),
            p99_ms=percentile(latencies, 99),
            max_ms=latencies[-1] if latencies else float("nan"),
            server_cpu_ms_per_request=server_cpu * 1000 / len(samples) if samples else float("nan"),
            client_cpu_ms_per_request=client_cpu * 1000 / len(samples) if samples else float("nan"),
            p99_lag_ms=percentile(sorted(s.lag * 1000 for s in samples), 99),
            error_examples=tuple(examples),
        )


def client(timeout: float) -> httpx.AsyncClient:
    # Enough connections for every request that may be in flight at once: the pool must not be the queue.
    limits = httpx.Limits(max_connections=2000, max_keepalive_connections=200)
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout), limits=limits)


async def _send(http: httpx.AsyncClient, url: str, delivery: Delivery, since: float, timeout: float) -> Sample:
    loop = asyncio.get_running_loop()
    lag = loop.time() - since
    try:
        async with asyncio.timeout(timeout):
            response = await http.post(url + delivery.path, content=delivery.body, headers=delivery.headers)
    except TimeoutError:
        return Sample(delivery, None, loop.time() - since, lag, f"no answer within {timeout:.0f} s")
    except httpx.HTTPError as error:
        return Sample(delivery, None, loop.time() - since, lag, f"{type(error).__name__}: {error}")
    detail = "" if response.is_success else response.text
    return Sample(delivery, response.status_code, loop.time() - since, lag, detail)


async def open_loop(
    url: str, traffic: Traffic, *, rate: float, seconds: float, timeout: float
) -> tuple[list[Sample], float]:
    """Send `rate` requests per second for `seconds`, on schedule. Returns the samples and the elapsed time."""
    loop = asyncio.get_running_loop()
    total = max(1, round(rate * seconds))
    async with client(timeout) as http:
        start = loop.time() + 0.05
        tasks: list[asyncio.Task[Sample]] = []
        for i in range(total):
            due = start + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(_send(http, url, traffic.next(), due, timeout)))
        samples = list(await asyncio.gather(*tasks))
        return samples, loop.time() - start


async def closed_loop(
    url: str, traffic: Traffic, *, senders: int, seconds: float, timeout: float
) -> tuple[list[Sample], float]:
    """`senders` loops, each sending its next request when the previous one is answered, for `seconds`."""
    loop = asyncio.get_running_loop()
    samples: list[Sample] = []
    async with client(timeout) as http:
        start = loop.time()
        deadline = start + seconds

        async def sender() -> None:
            while loop.time() < deadline:
                samples.append(await _send(http, url, traffic.next(), loop.time(), timeout))

        await asyncio.gather(*(sender() for _ in range(senders)))
        return samples, loop.time() - start


Run = Callable[[], Coroutine[Any, Any, tuple[list[Sample], float]]]


def measure(name: str, run: Run, cpu: Callable[[], float]) -> tuple[Phase, list[Sample]]:
    """Run one phase (`run` returns what `open_loop`/`closed_loop` return) and summarize it."""
    cpu_before, client_before = cpu(), time.process_time()
    samples, elapsed = asyncio.run(run())
    client_cpu = time.process_time() - client_before
    return Phase.of(name, samples, elapsed, cpu() - cpu_before, client_cpu), samples
