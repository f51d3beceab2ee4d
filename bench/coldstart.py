"""Cold start: from launching gunicorn to the first 200, Registry against a bare Connexion app.

Both run under the same gunicorn command (uvicorn workers, `--preload`, the same worker count)
and are polled every 20 ms for `/openapi.json`, which both serve without authentication.
Medians over `repeats` launches, alternating the two apps.
"""

from __future__ import annotations

import statistics
import time

from bench import servers


def _once(start, port: int) -> float:
    started = time.monotonic()
    server = start(port)
    try:
        return servers.wait_ready(server, "/openapi.json") - started
    finally:
        server.stop()


def measure(database_url: str, port: int, workers: int, repeats: int) -> dict:
    def registry(p):
        return servers.start_registry(database_url, p, workers)

    def bare(p):
        return servers.launch(
            "bare", servers.gunicorn_argv("bench.bare_app:create_app()", p, workers), {}, p
        )

    runs = {"registry": [], "bare": []}
    for _ in range(repeats):
        runs["registry"].append(_once(registry, port))
        runs["bare"].append(_once(bare, port))
    out = {name: statistics.median(values) for name, values in runs.items()}
    return {
        "registry_s": out["registry"],
        "bare_s": out["bare"],
        "ratio": out["registry"] / out["bare"],
        "runs": runs,
    }
