"""A live `registry serve --workers 2` (tests/live_server.py): what only real sockets and real
worker processes show.

- A body sent with Transfer-Encoding: chunked (no Content-Length) is taken like any other.
- SQLite: a write that cannot get the write lock within the busy timeout (a short one here,
  REGISTRY_SQLITE_BUSY_TIMEOUT_MS) is run again, then answered 503 with Retry-After, never
  500, with nothing of it written; under a burst of batches from both workers, every answer is
  201 or 503 and every batch is all or nothing.
- PostgreSQL: after the database ended every connection (what a restart does to them), the
  server's next requests answer as usual, though each worker thread kept a connection.
"""

from __future__ import annotations

import http.client
import json
import sqlite3
import uuid

import psycopg
import pytest

from tests import live_server
from tests.concurrency import at_once, statuses
from tests.fixtures_api import assert_problem

ADMIN = "/admin-api/v3"
MEMBER = "/member-api/v3"
BUSY_TIMEOUT_MS = 100


@pytest.fixture(scope="module")
def live(backend, tmp_path_factory):
    directory = tmp_path_factory.mktemp("live")
    if backend == "sqlite":
        url = f"sqlite:///{directory / 'live.db'}"
    else:
        from tests.postgres import PG_URL

        url = f"{PG_URL}_live"
    server = live_server.start(
        url, directory, env={"REGISTRY_SQLITE_BUSY_TIMEOUT_MS": str(BUSY_TIMEOUT_MS)}
    )
    try:
        yield server
    finally:
        live_server.stop(server)


@pytest.fixture(scope="module")
def example_id(live) -> int:
    with live.client() as client:
        found = client.get(
            f"{ADMIN}/institutions",
            params={"identifier": "example.edu"},
            headers=live.headers("sysadmin"),
        ).json()
    return found["results"][0]["id"]


def chunked(live, method: str, path: str, body: bytes, chunk: int = 7):
    """The request sent as HTTP/1.1 chunks over a socket of its own (http.client frames an
    iterable body so when no Content-Length is given); the status and the parsed body."""
    connection = http.client.HTTPConnection("127.0.0.1", live.port, timeout=60)
    try:
        pieces = (body[i : i + chunk] for i in range(0, len(body), chunk))
        headers = {**live.headers("sysadmin"), "Content-Type": "application/json"}
        connection.request(method, path, body=pieces, headers=headers, encode_chunked=True)
        response = connection.getresponse()
        return response.status, response.getheader("content-type"), json.loads(response.read())
    finally:
        connection.close()


def test_a_chunked_body_is_taken_like_any_other(live, example_id):
    identifier = f"example.edu/chunked-{uuid.uuid4().hex[:8]}"
    body = json.dumps({"title": "sent in chunks", "identifier": identifier}).encode()
    status, _, created = chunked(live, "POST", f"{ADMIN}/objects/create/{example_id}", body)
    assert status == 201, created
    assert created["identifier"] == identifier
    changed = json.dumps({**created, "title": "changed in chunks"}).encode()
    status, _, updated = chunked(
        live, "PUT", f"{ADMIN}/objects/update/{created['id']}", changed, chunk=100
    )
    assert status == 200, updated
    assert updated["title"] == "changed in chunks"
    # An empty chunked body is a missing one.
    status, content_type, problem = chunked(
        live, "POST", f"{ADMIN}/objects/create/{example_id}", b""
    )
    assert (status, content_type) == (400, "application/problem+json"), problem


# -- SQLite: a lock not granted in time ----------------------------------------------------------


def sqlite_only(backend):
    if backend != "sqlite":
        pytest.skip("PostgreSQL has row locks and no database-wide write lock")


def test_a_write_that_cannot_get_the_lock_answers_503(live, backend, example_id):
    """While another connection holds SQLite's write lock, each write waits the busy timeout
    on each of its attempts, then answers 503 with Retry-After; nothing of it is written. Once
    the lock is free, the same requests succeed. (Before the fix: 500, "database is locked".)"""
    sqlite_only(backend)
    admin = live.headers("sysadmin")
    identifier = f"example.edu/locked-{uuid.uuid4().hex[:8]}"
    with live.client() as client:
        target = client.post(
            f"{ADMIN}/objects/create/{example_id}",
            headers=admin,
            json={"title": "restore me", "identifier": f"{identifier}-r"},
        )
        assert target.status_code == 201, target.text
        target = target.json()
    requests = [
        (
            "post",
            f"{ADMIN}/objects/create/{example_id}",
            admin,
            {"title": "blocked", "identifier": identifier},
        ),
        (
            "post",
            f"{ADMIN}/files/create_batch/{example_id}",
            admin,
            [
                {
                    "identifier": f"{target['identifier']}/data/{i}",
                    "file_format": "text/plain",
                    "intellectual_object_id": target["id"],
                    "size": i,
                    "uuid": str(uuid.uuid4()),
                }
                for i in range(20)
            ],
        ),
        ("post", f"{MEMBER}/objects/{target['id']}/restore", live.headers("inst_user"), None),
    ]

    def send(method, path, headers, body):
        with live.client() as client:
            return client.request(method, path, headers=headers, json=body)

    holder = sqlite3.connect(live.database_url[len("sqlite:///") :], isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        outcomes = at_once([lambda r=r: send(*r) for r in requests])
    finally:
        holder.rollback()
        holder.close()
    assert statuses(outcomes) == [503] * len(requests), [o.value.text for o in outcomes]
    for outcome in outcomes:
        assert_problem(outcome.value, 503)
        assert int(outcome.value.headers["retry-after"]) >= 1
    with live.client() as client:
        assert (
            client.get(f"{ADMIN}/objects", params={"identifier": identifier}, headers=admin).json()[
                "count"
            ]
            == 0
        )
        assert (
            client.get(
                f"{ADMIN}/files", params={"intellectual_object_id": target["id"]}, headers=admin
            ).json()["count"]
            == 0
        )
        assert (
            client.get(
                f"{ADMIN}/items", params={"intellectual_object_id": target["id"]}, headers=admin
            ).json()["count"]
            == 0
        )
    assert [send(*r).status_code for r in requests] == [201] * len(requests)


def test_a_burst_of_batches_from_both_workers_is_all_or_nothing(live, backend, example_id):
    """Batches big enough to keep the write lock for a while, sent at once to both workers:
    every answer is 201 or 503 (never 500), a 201 batch stored all of its files, a 503 batch
    none, and each object's counters equal its files."""
    sqlite_only(backend)
    admin = live.headers("sysadmin")
    with live.client() as client:
        objects = []
        for _ in range(8):
            made = client.post(
                f"{ADMIN}/objects/create/{example_id}",
                headers=admin,
                json={"title": "burst", "identifier": f"example.edu/burst-{uuid.uuid4().hex[:8]}"},
            )
            assert made.status_code == 201, made.text
            objects.append(made.json())
    bodies = [
        [
            {
                "identifier": f"{o['identifier']}/data/{i:05d}",
                "file_format": "text/plain",
                "intellectual_object_id": o["id"],
                "size": i,
                "uuid": str(uuid.uuid4()),
            }
            for i in range(8000)
        ]
        for o in objects
    ]

    def send(body):
        with live.client() as client:
            return client.post(f"{ADMIN}/files/create_batch/{example_id}", json=body, headers=admin)

    outcomes = at_once([lambda b=b: send(b) for b in bodies])
    assert set(statuses(outcomes)) <= {201, 503}, [o.value.text[:300] for o in outcomes]
    with live.client() as client:
        for obj, outcome in zip(objects, outcomes, strict=True):
            shown = client.get(f"{ADMIN}/objects/show/{obj['id']}", headers=admin).json()
            stored = 8000 if outcome.status == 201 else 0
            assert shown["file_count"] == stored
            assert (
                client.get(
                    f"{ADMIN}/files",
                    headers=admin,
                    params={"intellectual_object_id": obj["id"], "per_page": 1},
                ).json()["count"]
                == stored
            )
            if outcome.status == 503:
                assert int(outcome.value.headers["retry-after"]) >= 1


# -- PostgreSQL: connections the server ended ----------------------------------------------------


def test_requests_after_the_database_ended_every_connection_answer_as_usual(
    live, backend, example_id
):
    """Every connection of the server's database is ended, as a PostgreSQL restart ends them
    (without restarting the cluster): the next reads and writes, sent one by one and then at
    once, all answer as usual. Each worker thread keeps a pooled connection; before the fix
    each of them failed one request with 500."""
    if backend != "postgres":
        pytest.skip("SQLite has no server to restart")
    admin, user = live.headers("sysadmin"), live.headers("inst_user")
    reads = [
        f"{MEMBER}/objects?per_page=5",
        f"{MEMBER}/items?per_page=5",
        f"{MEMBER}/files?per_page=5",
        f"{MEMBER}/objects/show/example.edu/bag-0001",
    ]

    def read(path):
        with live.client() as client:
            return client.get(path, headers=user)

    def restore(identifier):
        with live.client() as client:
            made = client.post(
                f"{ADMIN}/objects/create/{example_id}",
                headers=admin,
                json={"title": "after a restart", "identifier": identifier},
            )
            if made.status_code != 201:
                return made
            return client.post(f"{MEMBER}/objects/{made.json()['id']}/restore", headers=user)

    def round_of_requests(tag):
        """Reads and writes one by one, then at once (so that every thread is used)."""
        one_by_one = [read(path).status_code for path in reads * 3]
        one_by_one += [
            restore(f"example.edu/{tag}-{i}-{uuid.uuid4().hex[:6]}").status_code for i in range(3)
        ]
        together = at_once(
            [lambda p=p: read(p) for p in reads * 4]
            + [
                lambda i=i: restore(f"example.edu/{tag}-t{i}-{uuid.uuid4().hex[:6]}")
                for i in range(6)
            ]
        )
        return one_by_one, statuses(together)

    ok = ([200] * 12 + [201] * 3, [200] * 16 + [201] * 6)
    assert round_of_requests("warm") == ok
    for restart in range(2):
        with psycopg.connect(live.database_url, autocommit=True) as conn:
            ended = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()[0]
        assert ended >= 2  # at least one kept connection per worker
        assert round_of_requests(f"restart{restart}") == ok, live.log()[-3000:]
