"""The metrics of `GET /metrics`, in Prometheus's text format (prometheus-client).

Every metric is made here, once per process, at import. Under gunicorn (`registry serve
--workers N`) each worker counts in files of its own under PROMETHEUS_MULTIPROC_DIR
(prometheus-client's multiprocess mode: a directory `registry serve` makes for the instance
and removes when it stops, registry/web/gunicorn_config.py), and a scrape, whichever worker
answers it, sums every worker's files: a counter keeps the counts of a worker that died, a
gauge counts the live workers only. Without that directory (one process: `registry serve`
without --workers, the tests) the process's own default registry answers.

The endpoint is outside both APIs and their credentials, like the probes, and guarded by
REGISTRY_METRICS (registry/settings.py): "off" does not route it (404), "token" answers only
`Authorization: Bearer <REGISTRY_METRICS_TOKEN>` (compared in constant time; else 401), "open"
answers anyone who reaches it (a port only the monitoring network reaches).

The request metrics are recorded by registry/web/observe.py, the database threads' by
registry/web/threads.py, the database's refusals by registry/web/outage.py, the rate limiter's
by registry/web/rate_limit.py and registry/web/rate_counters.py.
"""

from __future__ import annotations

import hmac
import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.responses import Response

from registry.web.responses import problem_response

# Seconds: a show answers in about a millisecond, the request deadline is 30 s.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

REQUESTS = Counter(
    "registry_http_requests",
    "Requests answered, by operationId (or the app's own route; '-': none, such as a 404 "
    "for no route or a refusal before routing) and status",
    ["operation", "status"],
)
LATENCY = Histogram(
    "registry_http_request_duration_seconds",
    "Time from a request's arrival in the app to the end of its answer, by operationId",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)
IN_FLIGHT = Gauge(
    "registry_http_requests_in_flight",
    "Requests being answered now",
    multiprocess_mode="livesum",
)
DB_THREADS = Gauge(
    "registry_db_threads",
    "Database threads of the live worker processes (each at most REGISTRY_DB_POOL_SIZE)",
    multiprocess_mode="livesum",
)
DB_THREADS_BUSY = Gauge(
    "registry_db_threads_busy",
    "Database threads running a request's database work now",
    multiprocess_mode="livesum",
)
DB_QUEUE_WAITING = Gauge(
    "registry_db_queue_waiting",
    "Database work waiting for a free database thread now",
    multiprocess_mode="livesum",
)
DB_QUEUE_TIMEOUTS = Counter(
    "registry_db_queue_timeouts",
    "Database work dropped because no database thread took it within the queue timeout "
    "(answered 503)",
)
DB_ERRORS = Counter(
    "registry_db_errors",
    "Requests answered 503 because the database could not serve them, by kind",
    ["kind"],
)
RATE_LIMITED = Counter(
    "registry_rate_limited",
    "Requests refused 429 by the rate limiter, by the budget they spent",
    ["policy"],
)
RATE_LIMIT_STORE_ERRORS = Counter(
    "registry_rate_limit_store_errors",
    "Calls to the shared rate-limit store (Redis) that failed",
)
RATE_LIMIT_FAIL_OPEN = Counter(
    "registry_rate_limit_fail_open",
    "Requests let through without a rate limit because the store did not answer",
)

# The label of DB_ERRORS for each reason models.storage.db.unavailable gives (its `kind`).
DB_ERROR_KINDS = {
    "the database did not answer within the connect timeout": "connect_timeout",
    "the database did not answer within the statement timeout": "statement_timeout",
    "a lock stayed taken past the lock timeout": "lock_timeout",
    "no connection to the database": "connection",
    "the database stayed locked": "sqlite_locked",
    "the database file could not be opened": "cannot_open",
    "no database connection was free": "pool_exhausted",
}


def db_error_kind(reason: str) -> str:
    """DB_ERRORS's label for `reason`, the phrase models.storage.db.unavailable gives."""
    return DB_ERROR_KINDS.get(reason, "other")


class Children:
    """The labelled children of a metric, looked up once: `labels()` costs a lock, a tuple and
    a dict lookup of the metric's own on every call; a hit here is one dict lookup."""

    __slots__ = ("metric", "known")

    def __init__(self, metric):
        self.metric = metric
        self.known: dict = {}

    def get(self, *values):
        child = self.known.get(values)
        if child is None:
            child = self.known[values] = self.metric.labels(*map(str, values))
        return child


REQUEST_CHILDREN = Children(REQUESTS)
LATENCY_CHILDREN = Children(LATENCY)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition() -> bytes:
    """Every metric, summed over the live and dead workers in multiprocess mode."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def _authorized(request, token: str) -> bool:
    given = request.headers.get("authorization", "")
    scheme, _, credentials = given.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        credentials.strip().encode(), token.encode()
    )


def add_metrics(app, mode: str, token: str | None = None) -> None:
    """Route GET /metrics as `mode` says ("off": not at all)."""
    if mode == "off":
        return
    if mode == "token" and not token:
        raise ValueError("REGISTRY_METRICS=token needs REGISTRY_METRICS_TOKEN")

    async def metrics(request):
        if mode == "token" and not _authorized(request, token):
            return problem_response(
                401,
                "Unauthorized",
                "The metrics need `Authorization: Bearer <REGISTRY_METRICS_TOKEN>`.",
                instance=request.url.path,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        return Response(exposition(), media_type=CONTENT_TYPE_LATEST)

    app.add_url_rule("/metrics", "metrics", metrics, methods=["GET"])
