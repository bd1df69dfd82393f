"""What the benchmarks share: the machine, ports, server processes, a scratch PostgreSQL, a local fake Guesty,
`luxserv` commands, statistics and result files."""

from __future__ import annotations

import json
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import uvicorn
from psycopg import sql

from luxserv.integrations.fake.guesty import FakeGuesty

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "bench" / "results"
# The PostgreSQL server the benchmarks create their scratch databases on (trust authentication, as in the tests).
POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Machine:
    """Where the numbers were taken: they mean little without it."""

    cpus: int
    cpu_model: str
    python: str
    load_average: tuple[float, float, float]

    @classmethod
    def describe(cls) -> Machine:
        model = platform.processor() or "unknown"
        with suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        return cls(
            cpus=os.cpu_count() or 1,
            cpu_model=model,
            python=platform.python_version(),
            load_average=os.getloadavg(),
        )

    def line(self) -> str:
        one, five, fifteen = self.load_average
        return (
            f"{self.cpus} CPUs ({self.cpu_model}), Python {self.python}, "
            f"load average {one:.2f} {five:.2f} {fifteen:.2f} at start"
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def base_env(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without any LUXSERV_ variable, plus `extra`: every run starts from defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUXSERV_")}
    env.update({"PYTHONPATH": str(REPO), "COLUMNS": "120", **extra})
    return env


def luxserv(env: dict[str, str], cwd: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run one `luxserv` command as an operator would; a failure stops the benchmark with its output."""
    done = subprocess.run(
        [sys.executable, "-m", "luxserv", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"`luxserv {' '.join(args)}` exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done


class Server:
    """A process (and the children it forks, e.g. uvicorn workers) that this benchmark started and stops."""

    def __init__(self, name: str, argv: Sequence[str], *, env: dict[str, str], cwd: Path, log: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.cwd = cwd
        self.log = log
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def process(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise RuntimeError(f"{self.name} was not started")
        return self._process

    def start(self, ready_url: str | None = None, timeout: float = 90.0) -> None:
        """Start it; with `ready_url`, wait until that URL answers (any HTTP status)."""
        with self.log.open("ab") as out:
            self._process = subprocess.Popen(
                self.argv, env=self.env, cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            if ready_url is None:
                time.sleep(0.5)
                if self.process.poll() is None:
                    return
                continue
            with suppress(httpx.HTTPError):
                httpx.get(ready_url, timeout=2.0)
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not answer {ready_url} within {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.1)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process and its live descendants so far."""
        if self._process is None:
            return 0.0
        return sum(_cpu_ticks(pid) for pid in _descendants(self._process.pid)) / _CLOCK_TICKS

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (uvicorn then stops its workers); after `timeout`, SIGKILL to the process group it leads."""
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(5)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime, stime


@contextmanager
def scratch_postgres(label: str) -> Iterator[str]:
    """A new, empty database on the benchmark's PostgreSQL server; dropped when the block ends."""
    name = f"luxserv_bench_{label}_{os.getpid()}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _with_db(name)
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _with_db(name: str) -> str:
    """The admin URL with another database name (the URL's path is the database)."""
    base, _, _ = POSTGRES_ADMIN_URL.partition("?")
    return f"{base.rpartition('/')[0]}/{name}"


@contextmanager
def fake_guesty(fake: FakeGuesty) -> Iterator[str]:
    """Serve the fake Guesty API on loopback in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(fake.app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, name="fake-guesty", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the fake Guesty did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of already sorted values (NaN when there are none)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        first, *rest = cells
        return "  ".join(
            [str(first).ljust(widths[0]), *(str(c).rjust(w) for c, w in zip(rest, widths[1:], strict=True))]
        )

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(row) for row in rows)])


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def write_json(directory: Path, name: str, data: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    return path
