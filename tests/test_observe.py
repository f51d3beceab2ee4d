"""Metrics, request ids and the request log (registry/web/metrics.py, registry/web/observe.py;
issue 16, items 2 and 3).

- In-process, on apps of their own: a scrape of GET /metrics parses (prometheus-client's own
  parser) and counts known requests by operationId and status, whichever path answered them
  (fast reads, Connexion's chain, no route); its protection (off: 404; token: 401 without the
  right bearer token); the request id echoed on every kind of answer, made when absent or not
  sane; one JSON log line per request with its fields, no key in any line, and an error's
  traceback carrying the request's id; the rate limiter's, the database threads' and the
  database's counters moving when their events happen.
- Live: `registry serve --workers 2` with metrics on: requests spread over both workers are
  counted in total by every scrape, whichever worker answers it; one log line per request;
  the instance's metric directory is removed when it stops.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from registry.settings import Settings
from registry.web import metrics, observe, outage, security, threads
from tests import live_server
from tests.bounded import bounded_app
from tests.db_proxy import closed_port
from tests.fixtures_api import assert_problem

MEMBER, ADMIN = "/member-api/v3", "/admin-api/v3"
OBJECTS = f"{MEMBER}/objects"
TOKEN = "metrics-token-" + "x" * 20
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def make_client(own_client):
    """A test client of an app of its own with the given settings (metrics behind TOKEN)."""

    def make(**settings):
        return own_client(
            **{"rate_limit": False, "metrics": "token", "metrics_token": TOKEN, **settings}
        )

    return make


def scrape(client, headers=BEARER) -> dict:
    """{(sample name, sorted labels): value} of a scrape, parsed by prometheus-client."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def requests_of(samples: dict, operation: str, status: int) -> float:
    key = ("registry_http_requests_total", (("operation", operation), ("status", str(status))))
    return samples.get(key, 0.0)


def latency_count(samples: dict, operation: str) -> float:
    return samples.get(
        ("registry_http_request_duration_seconds_count", (("operation", operation),)), 0.0
    )


# --- metrics, in-process ---------------------------------------------------------------------


def test_a_scrape_parses_and_counts_requests_by_operation_and_status(make_client, world):
    client = make_client()
    me = world["inst_user"].headers
    admin = world["sysadmin"].headers
    before = scrape(client)
    for _ in range(3):
        assert client.get(OBJECTS, headers=me).status_code == 200  # the fast reads
    assert client.get(OBJECTS).status_code == 401
    assert client.get(f"{MEMBER}/no-such-thing", headers=me).status_code == 404
    bad = client.post(f"{ADMIN}/institutions/create", json={"name": 1}, headers=admin)
    assert bad.status_code == 400  # Connexion's chain: its routing names the operation
    after = scrape(client)
    assert requests_of(after, "list_objects", 200) - requests_of(before, "list_objects", 200) == 3
    assert requests_of(after, "list_objects", 401) - requests_of(before, "list_objects", 401) == 1
    assert requests_of(after, "-", 404) - requests_of(before, "-", 404) == 1
    assert (
        requests_of(after, "create_institution", 400)
        - requests_of(before, "create_institution", 400)
        == 1
    )
    assert requests_of(after, "metrics", 200) - requests_of(before, "metrics", 200) == 1
    assert latency_count(after, "list_objects") - latency_count(before, "list_objects") == 4
    # Only the scrape itself is in flight while it is answered.
    assert after[("registry_http_requests_in_flight", ())] == 1
    for name in (
        "registry_db_threads_busy",
        "registry_db_queue_waiting",
        "registry_db_queue_timeouts_total",
        "registry_rate_limit_fail_open_total",
        "registry_rate_limit_store_errors_total",
    ):
        assert (name, ()) in after, name


def test_the_same_request_is_counted_the_same_through_the_chain(make_client, world):
    client = make_client(fast_reads=False)
    me = world["inst_user"].headers
    before = scrape(client)
    assert client.get(OBJECTS, headers=me).status_code == 200
    after = scrape(client)
    assert requests_of(after, "list_objects", 200) - requests_of(before, "list_objects", 200) == 1


def test_metrics_are_off_by_default_and_guarded_by_a_token(make_client):
    assert Settings.from_env({}).metrics == "off"
    assert_problem(make_client(metrics="off").get("/metrics", headers=BEARER), 404)
    client = make_client()  # token
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        refused = client.get("/metrics", headers=headers)
        assert_problem(refused, 401)
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert "registry_http" not in refused.text
    assert client.get("/metrics", headers=BEARER).status_code == 200
    assert make_client(metrics="open").get("/metrics").status_code == 200


def test_metric_settings_are_checked_at_start_up():
    settings = Settings.from_env(
        {
            "REGISTRY_METRICS": "token",
            "REGISTRY_METRICS_TOKEN": TOKEN,
            "REGISTRY_LOG_FORMAT": "text",
        }
    )
    assert (settings.metrics, settings.metrics_token, settings.log_format) == (
        "token",
        TOKEN,
        "text",
    )
    with pytest.raises(ValueError, match="REGISTRY_METRICS_TOKEN"):
        Settings.from_env({"REGISTRY_METRICS": "token"})
    with pytest.raises(ValueError, match="REGISTRY_METRICS_TOKEN"):
        Settings.from_env({"REGISTRY_METRICS": "token", "REGISTRY_METRICS_TOKEN": "short"})
    with pytest.raises(ValueError, match="REGISTRY_METRICS='yes'"):
        Settings.from_env({"REGISTRY_METRICS": "yes"})
    with pytest.raises(ValueError, match="REGISTRY_LOG_FORMAT"):
        Settings.from_env({"REGISTRY_LOG_FORMAT": "xml"})


def test_rate_limit_refusals_and_an_unreachable_store_are_counted(make_client, world):
    me = world["inst_user"].headers
    client = make_client(rate_limit=True, rate_limit_key_reads="2/minute")
    key = ("registry_rate_limited_total", (("policy", "reads"),))
    before = scrape(client, BEARER).get(key, 0.0)  # the scrape has no key: the address pays
    assert [client.get(OBJECTS, headers=me).status_code for _ in range(4)] == [200, 200, 429, 429]
    assert scrape(client).get(key, 0.0) - before == 2

    closed = live_server.free_port()  # nothing listens there: Redis is unreachable
    client = make_client(
        rate_limit=True, rate_limit_key_reads="1/minute", redis_url=f"redis://127.0.0.1:{closed}/0"
    )
    errors = REGISTRY.get_sample_value("registry_rate_limit_store_errors_total")
    opened = REGISTRY.get_sample_value("registry_rate_limit_fail_open_total")
    assert [client.get(OBJECTS, headers=me).status_code for _ in range(3)] == [200] * 3
    after = scrape(client)
    # Each request (and the scrape) was let through unlimited; Redis was asked once, then left
    # alone for 5 s.
    assert after[("registry_rate_limit_fail_open_total", ())] - opened == 4
    assert after[("registry_rate_limit_store_errors_total", ())] - errors == 1


def test_a_database_outage_is_counted_by_kind():
    def errors(kind):
        return REGISTRY.get_sample_value("registry_db_errors_total", {"kind": kind}) or 0.0

    before = errors("connection")
    with bounded_app(f"postgresql://postgres@127.0.0.1:{closed_port()}/x", metrics="open") as app:
        client = app.test_client()
        assert_problem(client.get("/readyz"), 503)
        assert_problem(
            client.get(OBJECTS, headers={"X-Pharos-API-User": "a@b.c", "X-Pharos-API-Key": "k"}),
            503,
        )
        samples = scrape(client, {})
    assert errors("connection") - before == 2
    assert samples[("registry_db_errors_total", (("kind", "connection"),))] >= 2


def test_database_threads_busy_waiting_and_dropped_are_measured(monkeypatch):
    def value(name):
        return REGISTRY.get_sample_value(name) or 0.0

    monkeypatch.setattr(threads, "_pool", None)  # threads of the test's own
    monkeypatch.setattr(threads, "_pool_size", threads._pool_size)
    monkeypatch.setattr(threads, "_queue_timeout", threads._queue_timeout)
    monkeypatch.setattr(outage, "_episode", None)
    threads.configure(1, queue_timeout_s=0.3)
    release = threading.Event()
    started = threading.Event()

    def hold():
        started.set()
        release.wait(10)

    async def scenario():
        base = {
            name: value(name)
            for name in (
                "registry_db_threads_busy",
                "registry_db_queue_waiting",
                "registry_db_queue_timeouts_total",
            )
        }
        first = asyncio.ensure_future(threads.run_sync(hold))
        while not started.is_set():
            await asyncio.sleep(0.01)
        assert value("registry_db_threads") >= 1
        assert value("registry_db_threads_busy") == base["registry_db_threads_busy"] + 1
        second = asyncio.ensure_future(threads.run_sync(lambda: None))
        await asyncio.sleep(0.05)
        assert value("registry_db_queue_waiting") == base["registry_db_queue_waiting"] + 1
        with pytest.raises(Exception, match="no database thread was free"):
            await second  # dropped after the queue timeout
        assert value("registry_db_queue_waiting") == base["registry_db_queue_waiting"]
        assert (
            value("registry_db_queue_timeouts_total")
            == base["registry_db_queue_timeouts_total"] + 1
        )
        release.set()
        await first
        assert value("registry_db_threads_busy") == base["registry_db_threads_busy"]

    try:
        asyncio.run(scenario())
    finally:
        release.set()
        pool = threads._pool
        if pool is not None:
            pool[1].shutdown(wait=False)


# --- request ids -----------------------------------------------------------------------------


def test_the_request_id_is_echoed_on_every_kind_of_answer(make_client, world, monkeypatch):
    me = world["inst_user"].headers
    admin = world["sysadmin"].headers
    other = world["inst_admin"].headers
    client = make_client(rate_limit=True, rate_limit_key_reads="1/minute")
    big = b"{" + b" " * 2_000_000 + b"}"
    answers = {
        200: lambda h: client.get(OBJECTS, headers={**me, **h}),
        429: lambda h: client.get(OBJECTS, headers={**me, **h}),  # the budget of 1 is spent
        404: lambda h: client.get(f"{MEMBER}/nowhere", headers={**admin, **h}),
        400: lambda h: client.get(f"{OBJECTS}?per_page=x", headers={**other, **h}),
        401: lambda h: client.get(f"{ADMIN}/objects", headers=h),
        413: lambda h: client.post(
            f"{ADMIN}/institutions/create",
            content=big,
            headers={**admin, **h, "Content-Type": "application/json"},
        ),
    }
    for status, call in answers.items():
        sent = f"req-{status}.a:b/c+d=e~f_g"
        response = call({"X-Request-ID": sent})
        assert response.status_code == status, (status, response.text)
        assert response.headers["x-request-id"] == sent, status


def test_a_request_id_is_made_when_absent_or_not_sane(make_client):
    client = make_client()
    made = set()
    for sent in (None, "", "x" * 65, "has space", "semi;colon", "ünï", "new\\line"):
        headers = {} if sent is None else {"X-Request-ID": sent.encode("utf-8")}
        echoed = client.get("/livez", headers=headers).headers["x-request-id"]
        assert echoed != sent and re.fullmatch(r"[0-9a-f]{12}-[0-9a-f]+", echoed), echoed
        made.add(echoed)
    assert len(made) == 7  # each one new


# --- the request log -------------------------------------------------------------------------


@pytest.fixture
def log_lines():
    """The JSON lines Registry's log handler writes while the test runs (every logger, INFO)."""
    stream = io.StringIO()
    handler = observe.handler(stream, "json")
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines() if line]

    lines.text = stream.getvalue
    yield lines
    root.removeHandler(handler)
    root.setLevel(level)


def test_one_json_line_per_request_with_its_fields_and_no_key(make_client, world, log_lines):
    client = make_client()
    user = world["inst_user"]
    answers = [
        client.get(f"{OBJECTS}?per_page=2", headers={**user.headers, "X-Request-ID": "one"}),
        client.get(OBJECTS, headers={"X-Pharos-API-User": user.email, "X-Pharos-API-Key": "bad"}),
        client.get("/livez"),
    ]
    assert [a.status_code for a in answers] == [200, 401, 200]
    access = [line for line in log_lines() if line["logger"] == "registry.access"]
    assert [line["request_id"] for line in access] == [a.headers["x-request-id"] for a in answers]
    first = access[0]
    assert first.keys() >= {
        "ts",
        "level",
        "request_id",
        "method",
        "path",
        "operation",
        "status",
        "duration_ms",
        "user",
        "pid",
    }
    assert (first["level"], first["method"], first["path"], first["operation"]) == (
        "INFO",
        "GET",
        OBJECTS,
        "list_objects",
    )
    assert (first["status"], first["user"], first["pid"]) == (200, user.email, os.getpid())
    assert 0 < first["duration_ms"] < 10_000
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", first["ts"])
    assert (access[1]["status"], access[1]["user"]) == (401, None)  # a failed key names nobody
    assert (access[2]["operation"], access[2]["user"]) == ("livez", None)
    assert user.key not in log_lines.text() and "bad" not in {v for a in access for v in a.values()}


def test_an_error_s_traceback_carries_the_request_id(make_client, world, log_lines, monkeypatch):
    client = make_client()

    def broken(email, key):
        raise RuntimeError("a bug")

    monkeypatch.setattr(security.users, "authenticate", broken)
    response = client.get(OBJECTS, headers={**world["inst_user"].headers, "X-Request-ID": "bug-1"})
    assert_problem(response, 500)
    assert response.headers["x-request-id"] == "bug-1"
    errors = [line for line in log_lines() if line["logger"] == "registry.web.errors"]
    assert len(errors) == 1 and errors[0]["request_id"] == "bug-1"
    assert "RuntimeError: a bug" in errors[0]["exc"] and errors[0]["level"] == "ERROR"
    assert [line["status"] for line in log_lines() if line["logger"] == "registry.access"] == [500]


def test_the_text_format_is_one_human_line(world):
    record = logging.LogRecord("registry.access", logging.INFO, __file__, 1, "request", (), None)
    record.request_id = "abc"
    record.http = {
        "method": "GET",
        "path": OBJECTS,
        "operation": "list_objects",
        "status": 200,
        "duration_ms": 1.234,
        "user": "user@example.edu",
    }
    line = observe.TextFormatter().format(record)
    assert re.fullmatch(
        r"\S+ INFO registry\.access \[abc\] pid=\d+ GET /member-api/v3/objects list_objects 200 "
        r"1\.234ms user@example\.edu",
        line,
    ), line


# --- live: two workers -----------------------------------------------------------------------


def _metrics_dir(pid: int) -> Path:
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    found = [e.split(b"=", 1)[1] for e in environ if e.startswith(b"PROMETHEUS_MULTIPROC_DIR=")]
    assert found, "registry serve set no PROMETHEUS_MULTIPROC_DIR"
    return Path(found[0].decode())


def test_two_workers_are_counted_in_total_by_every_scrape(tmp_path):
    server = live_server.start(
        f"sqlite:///{tmp_path / 'live.db'}",
        tmp_path,
        env={
            "REGISTRY_METRICS": "token",
            "REGISTRY_METRICS_TOKEN": TOKEN,
            "REGISTRY_RATE_LIMIT": "off",
        },
    )
    try:
        directory = _metrics_dir(server.process.pid)
        assert directory.is_dir() and directory.name.startswith("registry-metrics-")
        headers = server.headers("inst_user")
        sent = 0
        pids: set[int] = set()
        # New connections until both workers have answered some (bounded): each is counted.
        while sent < 400 and (sent < 40 or len(pids) < 2):
            request_id = f"live-{sent}"
            with httpx.Client(base_url=server.base, timeout=30) as client:
                response = client.get(OBJECTS, headers={**headers, "X-Request-ID": request_id})
            assert response.status_code == 200 and response.headers["x-request-id"] == request_id
            sent += 1
            if sent % 10 == 0:
                pids = {
                    line["pid"]
                    for line in _json_lines(server.log())
                    if str(line.get("request_id", "")).startswith("live-")
                }
        assert len(pids) == 2, f"one worker answered all {sent} requests"
        counts = set()
        for _ in range(6):  # whichever worker answers the scrape
            with httpx.Client(base_url=server.base, timeout=30) as client:
                samples = scrape(client)
            counts.add(requests_of(samples, "list_objects", 200))
        assert counts == {float(sent)}
        time.sleep(0.5)  # the last lines are written after the answers
        access = [
            line
            for line in _json_lines(server.log())
            if line.get("logger") == "registry.access"
            and str(line.get("request_id", "")).startswith("live-")
        ]
        assert sorted(line["request_id"] for line in access) == sorted(
            f"live-{i}" for i in range(sent)
        )
        assert {line["user"] for line in access} == {live_server.USERS["inst_user"]}
        assert not any(key in server.log() for key in server.keys.values())
        assert " 200 OK" not in server.log()  # no second (gunicorn) access log
        # A worker killed: its live gauges go (child_exit), its counts stay in the sums.
        killed = sorted(pids)[0]
        assert (directory / f"gauge_livesum_{killed}.db").exists()
        os.kill(killed, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (directory / f"gauge_livesum_{killed}.db").exists():
            time.sleep(0.1)
        assert not (directory / f"gauge_livesum_{killed}.db").exists()
        for _ in range(4):
            with httpx.Client(base_url=server.base, timeout=30) as client:
                samples = scrape(client)
            assert requests_of(samples, "list_objects", 200) == sent
            assert samples[("registry_http_requests_in_flight", ())] == 1  # the scrape
    finally:
        live_server.stop(server)
    assert not directory.exists()  # the instance's metric files went with it


def _json_lines(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                pass
    return lines


def test_the_request_metrics_cost_little():
    """Not a benchmark (bench/results/2026-12-06-metrics-logs-cost.md is): the recording of
    one request's metrics stays within a few microseconds."""
    children = metrics.REQUEST_CHILDREN
    started = time.perf_counter()
    for _ in range(10_000):
        children.get("cost-test", 200).inc()
        metrics.LATENCY_CHILDREN.get("cost-test").observe(0.001)
    per_request = (time.perf_counter() - started) / 10_000
    assert per_request < 50e-6, per_request


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_the_direct_request_line_is_the_line_logging_writes(log_format):
    """`registry serve` writes the request line without a LogRecord (DirectLine): the same
    line as through logging, but for the time."""
    stream = io.StringIO()
    target = observe.handler(stream, log_format)
    fields = {
        "method": "GET",
        "path": OBJECTS,
        "operation": "list_objects",
        "status": 200,
        "duration_ms": 0.5,
        "user": "user@example.edu",
    }
    observe.DirectLine(target).write("rid-1", fields)
    token = observe.CURRENT.set(observe.Request("rid-1"))
    try:
        record = logging.LogRecord(
            "registry.access", logging.INFO, __file__, 1, "request", (), None
        )
        record.http = fields
        target.handle(record)
    finally:
        observe.CURRENT.reset(token)
    direct, logged = stream.getvalue().splitlines()
    time_of = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00"
    assert re.sub(time_of, "T", direct) == re.sub(time_of, "T", logged)
    assert "rid-1" in direct and "user@example.edu" in direct


def test_configure_logging_writes_request_lines_directly_only_to_its_own_handler(monkeypatch):
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", root.level)
    observe.configure_logging("info", "json")
    try:
        assert observe._direct is not None and observe._direct.usable()
        other = logging.StreamHandler(io.StringIO())
        root.addHandler(other)  # added later: every line goes through logging again
        assert not observe._direct.usable()
        root.removeHandler(other)
        assert observe._direct.usable()
    finally:
        root.handlers = []
        observe._direct = None


def test_every_metric_and_setting_is_documented_in_the_readme():
    from prometheus_client.metrics import MetricWrapperBase

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    defined = set()
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            for family in value.describe():
                defined.add(family.name + ("_total" if family.type == "counter" else ""))
    documented = set(re.findall(r"^\| `(registry_[a-z_]+)` \|", readme, re.MULTILINE))
    assert defined == documented
    settings = (Path(__file__).parent.parent / "registry" / "settings.py").read_text()
    read = set(re.findall(r'"(REGISTRY_[A-Z_]+)"', settings))
    assert {"REGISTRY_METRICS", "REGISTRY_LOG_FORMAT", "REGISTRY_LOG_FLUSH_MS"} <= read
    assert not {name for name in read if f"| `{name}` |" not in readme}
