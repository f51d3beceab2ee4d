"""Per-key rate limits (registry/web/rate_limit.py; issue 15, item 5).

- The budgets read limits' notation and write the header fields of
  draft-ietf-httpapi-ratelimit-headers-11, byte for byte.
- In-process (apps of their own, with small budgets): a key's reads, a key's writes, another
  key and a client address without a key each have a budget; a request over it answers 429
  problem+json with Retry-After, before the app does any work; every answer carries the
  RateLimit fields; keys that fail spend their address's budget, after which the address is
  refused before any key is looked up; rate limiting off sends no fields; a Redis that does not
  answer lets every request through and logs one line.
- Live (`registry serve --workers 2`): two servers of two workers each, sharing a Redis, hold
  one budget in total; a Redis stopped under a running server lets requests through (one log
  line per worker), and the limit holds again once Redis is back.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time

import httpx
import pytest
import redis

from registry.settings import Settings
from registry.web import fast_reads
from registry.web.rate_counters import (
    REDIS_KEY_PREFIX,
    REDIS_TIMEOUT_SECONDS,
    InProcessCounts,
    RedisCounts,
)
from registry.web.rate_limit import QUOTA_EXCEEDED, Limiter, Policy, Verdict, key_partition
from tests import live_server
from tests.fixtures_api import assert_problem
from tests.postgres import IN_CI

OBJECTS = "/member-api/v3/objects"
# A structured-field list of items whose parameters are integers (RFC 9651, 3.1 and 3.1.2).
SF_LIST = re.compile(r'^"[a-z-]+"(;[a-z]+=\d+)+(, "[a-z-]+"(;[a-z]+=\d+)+)*$')


def _ratelimit(response) -> tuple[str, int, int]:
    """The RateLimit field's (policy name, r, t)."""
    match = re.fullmatch(r'"([a-z-]+)";r=(\d+);t=(\d+)', response.headers["ratelimit"])
    assert match, response.headers["ratelimit"]
    return match[1], int(match[2]), int(match[3])


# --- the budgets and the fields -------------------------------------------------------------


def test_budgets_read_limits_notation_and_write_the_draft_fields():
    policy = Policy("6000/minute", "1200/minute", "600/minute", "60 per 10 seconds")
    assert policy.key_header == b'"reads";q=6000;w=60, "writes";q=1200;w=60'
    assert policy.address_header == b'"address-reads";q=600;w=60, "address-writes";q=60;w=10'
    assert SF_LIST.match(policy.key_header.decode()) and SF_LIST.match(
        policy.address_header.decode()
    )
    reads = policy.key[0]
    fresh = Verdict(reads, 1, 41.2, policy.key_header, True)
    assert fresh.allowed
    assert fresh.headers() == [
        (b"ratelimit-policy", policy.key_header),
        (b"ratelimit", b'"reads";r=5999;t=42'),
    ]
    spent = Verdict(reads, 6001, 0.2, policy.key_header, True)
    assert not spent.allowed
    assert spent.headers()[1] == (b"ratelimit", b'"reads";r=0;t=1')


def test_a_budget_not_in_limits_notation_stops_the_start_up_naming_its_setting():
    with pytest.raises(ValueError, match="REGISTRY_RATE_LIMIT_KEY_WRITES .writes.: 'lots'"):
        Limiter.from_settings(Settings(rate_limit_key_writes="lots"))


def test_the_settings_come_from_the_environment_and_ship_on():
    assert Settings.from_env({}).rate_limit
    assert isinstance(Limiter.from_settings(Settings.from_env({})).counts, InProcessCounts)
    assert Limiter.from_settings(Settings.from_env({"REGISTRY_RATE_LIMIT": "off"})) is None
    settings = Settings.from_env(
        {
            "REGISTRY_RATE_LIMIT_KEY_READS": "10/second",
            "REGISTRY_RATE_LIMIT_KEY_WRITES": "5/second",
            "REGISTRY_RATE_LIMIT_ADDRESS_READS": "4/second",
            "REGISTRY_RATE_LIMIT_ADDRESS_WRITES": "3/second",
            "REGISTRY_REDIS_URL": "redis://127.0.0.1:6379/9",
        }
    )
    limiter = Limiter.from_settings(settings)
    assert isinstance(limiter.counts, RedisCounts)
    assert [budget.quota for budget in (*limiter.policy.key, *limiter.policy.address)] == [
        10,
        5,
        4,
        3,
    ]


def test_the_partition_of_a_key_is_a_digest_not_the_key():
    key = b"rgk_" + b"x" * 43
    partition = key_partition(key)
    assert key.decode() not in partition and "rgk_" not in partition
    assert partition == key_partition(key) != key_partition(key + b"y")


def test_in_process_windows_reset_whole_and_stay_bounded():
    counts = InProcessCounts()
    now = [1000.0]
    counts.clock = lambda: now[0]
    assert [counts.charge_now("k", 60) for _ in range(3)] == [(1, 60), (2, 60), (3, 60)]
    now[0] += 59.5
    assert counts.charge_now("k", 60) == (4, 0.5)
    now[0] += 0.5  # the window ended: a new one starts with this request
    assert counts.charge_now("k", 60) == (1, 60)
    counts.MAX_KEYS = 100
    for i in range(1000):  # a flood of new keys, all live: the oldest go, a hundredth at a time
        counts.charge_now(f"flood{i}", 60)
        assert len(counts.windows) <= 100
    assert "flood999" in counts.windows and "flood0" not in counts.windows
    now[0] += 61  # all expired: room is made from the expired ones
    counts.charge_now("fresh", 60)
    assert counts.windows["fresh"][0] == 1 and len(counts.windows) <= 100


# --- in-process ------------------------------------------------------------------------------


@pytest.fixture
def limited(own_client):
    """A test client of an app of its own (fresh counters) with the given settings."""
    return own_client


@pytest.fixture
def fast_answers(monkeypatch):
    """How many GETs the fast reads answered (the app's work: security, handler)."""
    answered = []
    original = fast_reads.FastReads.answer

    async def counting(self, route, scope, receive):
        answered.append(scope["path"])
        return await original(self, route, scope, receive)

    monkeypatch.setattr(fast_reads.FastReads, "answer", counting)
    return answered


def test_a_key_spends_its_reads_then_is_answered_429_before_any_work(limited, world, fast_answers):
    client = limited(rate_limit_key_reads="3/minute")
    answers = [client.get(OBJECTS, headers=world["inst_user"].headers) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert {a.headers["ratelimit-policy"] for a in answers} == {
        '"reads";q=3;w=60, "writes";q=1200;w=60'
    }
    fields = [_ratelimit(a) for a in answers]
    assert [(name, r) for name, r, _ in fields] == [
        ("reads", 2),
        ("reads", 1),
        ("reads", 0),
        ("reads", 0),
    ]
    assert all(1 <= t <= 60 for _, _, t in fields)
    refused = answers[-1]
    body = assert_problem(refused, 429)
    assert body["type"] == QUOTA_EXCEEDED
    assert body["violated-policies"] == ["reads"]
    assert body["instance"] == OBJECTS
    assert "3 requests per 60 seconds" in body["detail"]
    assert int(refused.headers["retry-after"]) == max(1, fields[-1][2])
    assert refused.headers["x-content-type-options"] == "nosniff"  # still inside the pipeline
    assert len(fast_answers) == 3  # the fourth never reached the app


def test_reads_writes_and_each_key_have_budgets_of_their_own(limited, world):
    client = limited(rate_limit_key_reads="2/minute", rate_limit_key_writes="2/minute")
    user = world["inst_user"].headers
    assert [client.get(OBJECTS, headers=user).status_code for _ in range(3)] == [200, 200, 429]
    restore = f"{OBJECTS}/999999/restore"
    writes = [client.post(restore, headers=user) for _ in range(3)]
    assert [w.status_code for w in writes] == [404, 404, 429]  # a write is charged, whatever
    assert [_ratelimit(w)[:2] for w in writes] == [("writes", 1), ("writes", 0), ("writes", 0)]
    assert assert_problem(writes[-1], 429)["violated-policies"] == ["writes"]
    other = client.get(OBJECTS, headers=world["inst_admin"].headers)
    assert other.status_code == 200 and _ratelimit(other)[:2] == ("reads", 1)


def test_requests_without_a_key_are_counted_per_client_address(limited, world):
    client = limited(rate_limit_address_reads="2/minute")
    answers = [client.get("/openapi.json") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].headers["ratelimit-policy"] == (
        '"address-reads";q=2;w=60, "address-writes";q=60;w=60'
    )
    assert assert_problem(answers[-1], 429)["violated-policies"] == ["address-reads"]
    assert client.get(OBJECTS, headers=world["inst_user"].headers).status_code == 200


def test_failing_keys_spend_their_address_budget_then_no_key_is_looked_up(
    limited, world, count_queries
):
    client = limited(rate_limit_address_reads="3/minute")
    made_up = [
        {"X-Pharos-API-User": "user@example.edu", "X-Pharos-API-Key": f"rgk_guess{i}"}
        for i in range(5)
    ]
    statuses = [client.get(OBJECTS, headers=headers).status_code for headers in made_up]
    # Each made-up key has a fresh budget; its 401 is charged to the address too. The fourth
    # failure spends the address's 3: from then on the address's keys are refused.
    assert statuses == [401, 401, 401, 401, 429]
    count_queries.statements.clear()
    refused = client.get(OBJECTS, headers=world["inst_user"].headers)
    body = assert_problem(refused, 429)
    assert body["violated-policies"] == ["address-reads"]
    assert "client address" in body["detail"]
    assert count_queries.statements == []  # the valid key was not even looked up
    assert client.get("/openapi.json").status_code == 429  # the address's own budget is spent


def test_rate_limiting_off_sends_no_fields(limited, world):
    client = limited(rate_limit=False, rate_limit_key_reads="1/minute")
    answers = [client.get(OBJECTS, headers=world["inst_user"].headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert not any("ratelimit" in a.headers or "ratelimit-policy" in a.headers for a in answers)


def test_a_redis_that_does_not_answer_lets_requests_through_and_logs_once(limited, world, caplog):
    closed = live_server.free_port()  # nothing listens there
    client = limited(rate_limit_key_reads="1/minute", redis_url=f"redis://127.0.0.1:{closed}/0")
    with caplog.at_level("WARNING", logger="registry.rate_limit"):
        started = time.monotonic()
        answers = [client.get(OBJECTS, headers=world["inst_user"].headers) for _ in range(5)]
        elapsed = time.monotonic() - started
    assert [a.status_code for a in answers] == [200] * 5  # a budget of 1 would have refused 4
    assert not any("ratelimit" in a.headers for a in answers)
    lines = [r.getMessage() for r in caplog.records if r.name == "registry.rate_limit"]
    assert len(lines) == 1 and lines[0].startswith("rate limiting is off: Redis did not answer")
    assert elapsed < 10


# --- live: shared Redis, and Redis stopped ----------------------------------------------------

SHARED_REDIS = "redis://127.0.0.1:6379/9"


def _needs(problem: str | None) -> None:
    if problem:
        if IN_CI:
            pytest.fail(problem)
        pytest.skip(problem)


def _redis_problem(url: str) -> str | None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"no Redis at {url}: {exc}"
    return None


def _forget(url: str, keys) -> None:
    """Delete the counters of these API keys and of the loopback address (the servers'
    readiness probes), and nothing else, from the Redis at `url`."""
    connection = redis.Redis.from_url(url, socket_connect_timeout=2)
    for partition in [key_partition(key.encode()) for key in keys] + ["a:127.0.0.1"]:
        for name in connection.scan_iter(match=f"{REDIS_KEY_PREFIX}:*/{partition}"):
            connection.delete(name)


def _get(server, user: str = "inst_user") -> httpx.Response:
    """One GET on a connection of its own (so that gunicorn may hand it to either worker)."""
    return httpx.get(
        f"{server.base}{OBJECTS}", params={"per_page": 1}, headers=server.headers(user), timeout=30
    )


def test_two_servers_of_two_workers_hold_one_budget_through_redis(tmp_path):
    _needs(_redis_problem(SHARED_REDIS))
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    env = {"REGISTRY_REDIS_URL": SHARED_REDIS, "REGISTRY_RATE_LIMIT_KEY_READS": "40/hour"}
    first = live_server.start(url, tmp_path, env)
    try:
        second = live_server.serve(url, tmp_path, env, first.keys)
        try:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(8) as pool:  # both workers of both servers busy at once
                answers = list(pool.map(_get, [first, second] * 30))
        finally:
            live_server.stop(second)
    finally:
        live_server.stop(first)
        _forget(SHARED_REDIS, first.keys.values())
    statuses = [a.status_code for a in answers]
    # Per process, each of the four would have let its share (about 15) through: 60 in all.
    assert statuses.count(200) == 40 and statuses.count(429) == 20, statuses
    # Each of the 40 was counted once, in one window shared by all four processes.
    assert sorted(_ratelimit(a)[1] for a in answers if a.status_code == 200) == list(range(40))
    for refused in (a for a in answers if a.status_code == 429):
        assert_problem(refused, 429)
        assert int(refused.headers["retry-after"]) >= 1


class OwnRedis:
    """A redis-server of this test's own, on a free port, keeping nothing on disk."""

    def __init__(self, directory):
        self.port = live_server.free_port()
        self.directory = directory
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while _redis_problem(self.url):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"redis-server on port {self.port} did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def test_a_redis_stopped_under_a_running_server_fails_open_then_the_limit_returns(tmp_path):
    _needs(None if shutil.which("redis-server") else "redis-server is not installed")
    own = OwnRedis(tmp_path)
    own.start()
    server = None
    try:
        server = live_server.start(
            f"sqlite:///{tmp_path / 'open.db'}",
            tmp_path,
            {"REGISTRY_REDIS_URL": own.url, "REGISTRY_RATE_LIMIT_KEY_READS": "5/hour"},
        )
        counted = [_get(server) for _ in range(3)]
        assert [a.status_code for a in counted] == [200] * 3
        assert [_ratelimit(a)[1] for a in counted] == [4, 3, 2]  # one count for both workers

        own.stop()
        open_answers = []
        for _ in range(20):
            started = time.monotonic()
            open_answers.append((_get(server), time.monotonic() - started))
        assert [a.status_code for a, _ in open_answers] == [200] * 20  # the budget had 2 left
        assert not any("ratelimit" in a.headers for a, _ in open_answers)
        # Not held up by the Redis that is gone: at most its timeout, once per worker, and a
        # loaded two-core machine's slack (4.5 s was seen under a full test run).
        assert max(seconds for _, seconds in open_answers) < REDIS_TIMEOUT_SECONDS + 5
        off = server.log().count("rate limiting is off: Redis did not answer")
        assert 1 <= off <= 2, server.log()  # one line per worker that met it, not per request

        own.start()  # empty: it kept nothing
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # each worker tries Redis again after 5 s
            answer = _get(server)
            if "ratelimit" in answer.headers:
                break
            time.sleep(0.5)
        assert "ratelimit" in answer.headers, server.log()
        assert "rate limiting is on again: Redis answers" in server.log()
    finally:
        if server is not None:
            live_server.stop(server)
        own.stop()
