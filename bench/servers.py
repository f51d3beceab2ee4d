"""Starting and stopping the two servers under test, on 127.0.0.1 only.

Registry runs as an operator runs it: `registry serve --workers N` (gunicorn, uvicorn workers,
`--preload`, production settings: no response validation; its own JSON log line per request
and its metrics on, as an operator runs it). The floor runs under the same gunicorn command
(registry.cli.gunicorn_command: no gunicorn access log since Registry writes its own, issue 20
item 4), so the two differ only in the app: what Registry's request log and metrics cost is
part of its measured ratio.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from registry.cli import gunicorn_command

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = ROOT / "var" / "bench" / "logs"
HOST = "127.0.0.1"
BIN = Path(sys.executable).parent


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def worker_pids(self) -> list[int]:
        """The gunicorn workers (children of the master)."""
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True
        ).stdout
        return [int(p) for p in out.split()]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def launch(name: str, argv: list[str], env: dict, port: int) -> Server:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOG_DIR / f"{name}-{port}.log", "ab") as log:  # the child keeps its own copy
        process = subprocess.Popen(
            argv, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
        )
    return Server(name, port, process)


def registry_argv(port: int, workers: int) -> list[str]:
    return [
        str(BIN / "registry"),
        "serve",
        "--workers",
        str(workers),
        "--host",
        HOST,
        "--port",
        str(port),
    ]


# wrk's 32 connections on one key would spend any budget a deployment would give a key: the
# limiter runs as shipped (on, in-process counters, unless REGISTRY_RATE_LIMIT or
# REGISTRY_REDIS_URL in the harness's environment say otherwise), charging and answering its
# headers on every request, with budgets the load never spends.
UNSPENT_BUDGET = "1000000000/hour"
BENCH_METRICS_TOKEN = "bench-metrics-token-not-secret"
RATE_LIMIT_BUDGETS = {
    f"REGISTRY_RATE_LIMIT_{name}": UNSPENT_BUDGET
    for name in ("KEY_READS", "KEY_WRITES", "ADDRESS_READS", "ADDRESS_WRITES")
}


def start_registry(
    database_url: str, port: int, workers: int, *, request_log: bool = True
) -> Server:
    """`request_log` False: the log at WARNING, so no line per request (what the log costs)."""
    return launch(
        "registry" if request_log else "registry-quiet",
        registry_argv(port, workers),
        {
            "DATABASE_URL": database_url,
            "REGISTRY_VALIDATE_RESPONSES": "false",
            # INFO: the request log on (registry/web/observe.py)
            "REGISTRY_LOG_LEVEL": "info" if request_log else "warning",
            "REGISTRY_METRICS": "token",
            "REGISTRY_METRICS_TOKEN": BENCH_METRICS_TOKEN,
            **RATE_LIMIT_BUDGETS,
        },
        port,
    )


def gunicorn_argv(app: str, port: int, workers: int) -> list[str]:
    """`registry serve --workers N`'s gunicorn command (no access log), for another app."""
    return [str(BIN / "python"), *gunicorn_command(app, HOST, port, workers)[1:]]


def start_floor(plan_path: str, port: int, workers: int) -> Server:
    return launch(
        "floor",
        gunicorn_argv("bench.floor:create_app()", port, workers),
        {"BENCH_FLOOR_PLAN": plan_path},
        port,
    )


def wait_ready(
    server: Server, path: str, headers: dict | None = None, timeout: float = 60.0
) -> float:
    """Poll `path` until it answers 200; return the seconds since the process started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.process.returncode}; see {LOG_DIR}"
            )
        try:
            if httpx.get(server.base + path, headers=headers, timeout=2).status_code == 200:
                return time.monotonic()
        except httpx.HTTPError:
            pass
        time.sleep(0.02)
    server.stop()
    raise RuntimeError(f"{server.name} did not answer {path} within {timeout} s")
