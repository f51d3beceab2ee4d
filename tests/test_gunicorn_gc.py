"""`registry serve --workers N` forks its workers with what the master loaded frozen out of the
garbage collector's sight (registry/web/gunicorn_config.py `pre_fork`): full collections in a
worker then walk only what the worker made, not the whole preloaded app again."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx

from registry.cli import gunicorn_command
from tests.live_server import free_port

ROOT = Path(__file__).resolve().parent.parent


def test_workers_start_with_the_preloaded_objects_frozen(tmp_path):
    port = free_port()
    argv = gunicorn_command("tests.gc_probe_app:app", "127.0.0.1", port, 2)
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=sink,
            start_new_session=True,
        )
    try:
        answers = []
        until = time.monotonic() + 60
        while time.monotonic() < until and len(answers) < 4:
            try:
                answers.append(int(httpx.get(f"http://127.0.0.1:{port}/", timeout=5).text))
            except httpx.TransportError:
                time.sleep(0.2)
        assert len(answers) == 4, log.read_text(errors="replace")[-2000:]
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
    # The app module alone holds 1,000 objects; the master's imports (gunicorn, uvicorn) many more.
    assert min(answers) > 1000
