"""A real `luxserv serve --demo` process and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

CHROMIUM = os.environ.get("LUXSERV_CHROMIUM", "/usr/bin/chromium")
REQUIRE_BROWSER = bool(os.environ.get("CI") or os.environ.get("LUXSERV_REQUIRE_BROWSER"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`luxserv serve --demo` on a free port with its own SQLite data folder."""
    port = _free_port()
    data = tmp_path_factory.mktemp("live")
    env = {**os.environ, "LUXSERV_DATA_DIR": str(data), "LUXSERV_ENV": "development"}
    env.pop("LUXSERV_DATABASE_URL", None)
    log = (data / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "luxserv", "serve", "--demo", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
        if process.poll() is not None:
            break
    else:
        process.kill()
        pytest.fail(f"server did not start: {(data / 'server.log').read_text()}")
    if process.poll() is not None:
        pytest.fail(f"server exited: {(data / 'server.log').read_text()}")
    yield url
    process.terminate()
    process.wait(timeout=15)
    log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if REQUIRE_BROWSER:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})  # type: ignore[attr-defined]
    tab = context.new_page()
    yield tab
    context.close()


def screenshot(page: object, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


@pytest.fixture(scope="session")
def demo_guest_link(live_server: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The guest portal link `luxserv serve --demo` printed for Sarah Johnson's stay (read from its server.log)."""
    pattern = re.compile(r"^\s*guest\s+(" + re.escape(live_server) + r"/portal\?booking=\S+)", re.MULTILINE)
    logs = sorted(tmp_path_factory.getbasetemp().glob("live*/server.log"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for log in logs:
            found = pattern.search(log.read_text(errors="replace"))
            if found:
                return found.group(1)
        time.sleep(0.2)
    pytest.fail(f"no guest portal link for {live_server} in {[str(p) for p in logs]}")
