"""A served demo and a headless Chromium for the browser tests.

The server is the real thing (`registry serve` on 127.0.0.1 over a fresh SQLite demo) and the
browser is Debian's Chromium (`make browser-deps`), driven by Playwright without its own browser
builds. Without Chromium or Playwright the tests are skipped, except under CI=true, where that
is a failure: CI must not pass by not looking.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.postgres import IN_CI

CHROMIUM = os.environ.get("REGISTRY_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking switches Chromium keeps calling home on a closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-results" / "browser"
REGISTRY = Path(sys.executable).with_name("registry")
MEMBER_EMAIL = "user@example.edu"


def _missing(what: str):
    if IN_CI:
        pytest.fail(f"CI=true requires {what} for the browser tests (make browser-deps)")
    pytest.skip(f"{what} is not available (make browser-deps)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    base_url: str
    member_email: str
    member_key: str

    def get_json(self, path: str) -> dict:
        with urllib.request.urlopen(self.base_url + path, timeout=10) as response:
            return json.load(response)


def _wait_until_up(url: str, process: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"registry serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"registry serve did not answer {url} within {seconds}s:\n{log.read_text()}")


def _cli(env: dict, *args: str) -> str:
    """Run the `registry` CLI as an operator would; its output, or a failure that shows why."""
    done = subprocess.run([REGISTRY, *args], env=env, capture_output=True, text=True)
    if done.returncode:
        pytest.fail(f"registry {' '.join(args)} exited with {done.returncode}:\n{done.stderr}")
    return done.stdout.strip()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """`registry serve` on the demo data set, with a member key issued through the CLI."""
    workdir = tmp_path_factory.mktemp("served")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir / 'registry.db'}",
        "REGISTRY_LOG_LEVEL": "warning",
    }
    _cli(env, "seed", "--demo")
    key = _cli(env, "keys", "issue", "--email", MEMBER_EMAIL)
    port = int(os.environ.get("REGISTRY_BROWSER_TEST_PORT") or _free_port())
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [REGISTRY, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base_url + "/openapi.json", process, log)
        yield Server(base_url, MEMBER_EMAIL, key)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """One headless Chromium with a fresh profile for the whole session."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _missing(f"Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright (pip install -e '.[browser]')")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go (test-results/ is CI's artifact folder)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def page(browser, server):
    """A new tab that records what a person would not see: console errors, failed
    requests, and any request that leaves the server (the docs must work offline)."""
    tab = browser.new_page()
    tab.errors = []
    tab.foreign_requests = {}  # URL -> why it failed (None: it did not)

    def on_request(request):
        url = request.url
        if not (url.startswith(server.base_url + "/") or url.startswith(("blob:", "data:"))):
            tab.foreign_requests[url] = None

    def on_failed(request):
        if request.url in tab.foreign_requests:
            tab.foreign_requests[request.url] = request.failure
        else:
            tab.errors.append(f"{request.url}: {request.failure}")

    tab.on("request", on_request)
    tab.on("requestfailed", on_failed)
    tab.on("console", lambda msg: msg.type == "error" and tab.errors.append(msg.text))
    tab.on("pageerror", lambda exc: tab.errors.append(str(exc)))
    yield tab
    tab.close()
