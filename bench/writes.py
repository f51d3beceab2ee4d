"""The write scenarios: a member's restore and deletion requests, an admin's object and file
creates (each at the harness's connections, by wrk), and 10,000-file batch creates (one at a
time for files/s, then many at once for their tails).

None has a floor (a write's floor would be a re-implementation of its rules, not a replay of
its SQL): they report Registry's own throughput and latency. Each leaves the data set as it
found it, so a data set can be measured again: what a round made is deleted before the next
round and after the last (counters and tallies follow: the tally triggers count deletes, and a
batch's object has its counters refreshed by models.stats).
"""

from __future__ import annotations

import math
import random
import re
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import orjson

from bench import wrk
from bench.generate import SYSADMIN_EMAIL, DataSet, bench_key, object_identifier
from bench.scenarios import caller_headers
from bench.servers import BENCH_METRICS_TOKEN, Server

BATCH_SIZE = 10_000
BATCH_OBJECT = 5  # an object of institution 1 that no read scenario looks at


def _sysadmin(ds: DataSet) -> dict:
    return {
        "X-Pharos-API-User": SYSADMIN_EMAIL,
        "X-Pharos-API-Key": bench_key(SYSADMIN_EMAIL, ds.seed),
    }


def _in_transaction(url: str, work) -> object:
    """`work(database)` in one transaction of a connection of its own to `url`."""
    from models.storage.db import connection, database, init_database

    init_database(url, pool_size=1)
    try:
        with connection():
            with database.atomic():
                return work(database)
    finally:
        if hasattr(database.obj, "close_all"):
            database.obj.close_all()


def _execute(
    url: str, statements: list[str], refresh_object: int | None = None, params: tuple = ()
) -> None:
    """Run `statements` (each with `params` for its `{p}` placeholders) in one transaction;
    on PostgreSQL, then vacuum the tables they deleted from."""

    def work(database):
        from models.stats import refresh_object_stats

        for sql in statements:
            database.execute_sql(sql.format(p=database.param), params[: sql.count("{p}")])
        if refresh_object is not None:
            refresh_object_stats([refresh_object])

    _in_transaction(url, work)
    deleted_from = sorted({t for sql in statements for t in re.findall(r"DELETE FROM (\w+)", sql)})
    if deleted_from and url.startswith(("postgres://", "postgresql://")):
        _vacuum(url, deleted_from)


def _vacuum(url: str, tables: list[str]) -> None:
    """VACUUM ANALYZE `tables`, so that the next round meets the data set as it was. The
    rounds insert the same keys again (the batches' identifiers and UUIDs come from fixed
    seeds), and every unique check of a key whose dead rows were left behind visits them all:
    with autovacuum off or behind, a batch took 5.5 s after a few runs instead of 1.1 s. A
    deployment's autovacuum does this work; the harness cannot wait for it."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as conn:
        for table in tables:
            conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))


def _shown_object(server: Server, ds: DataSet, n: int) -> dict:
    """The admin API's view of generated object `n` (its id and its institution's)."""
    identifier = object_identifier(ds, n)
    shown = httpx.get(
        f"{server.base}/admin-api/v3/objects/show/{identifier}", headers=_sysadmin(ds)
    )
    shown.raise_for_status()
    return shown.json()


def _summary(runs: list[wrk.Measurement]) -> dict:
    return {
        "rps": statistics.median(r.rps for r in runs),
        "p50_ms": statistics.median(r.p50_ms for r in runs),
        "p99_ms": statistics.median(r.p99_ms for r in runs),
        "errors": sum(r.errors for r in runs),
        "requests": sum(r.requests for r in runs),
        "rounds": [r.as_row() for r in runs],
    }


def _settle(server: Server, within_s: float = 40.0) -> None:
    """Wait until the server has finished the requests wrk left in flight (wrk stops sending
    at its deadline; the server still completes what it took), so that the clean-up after a
    round finds every row the round wrote. Bounded: past the request deadline (30 s by
    default) nothing the round sent can still be running."""
    headers = {"Authorization": f"Bearer {BENCH_METRICS_TOKEN}"}
    until = time.monotonic() + within_s
    while time.monotonic() < until:
        text = httpx.get(f"{server.base}/metrics", headers=headers).text
        busy = re.search(r"^registry_http_requests_in_flight (\S+)$", text, re.M)
        if busy is None:
            raise RuntimeError("GET /metrics does not report registry_http_requests_in_flight")
        if float(busy.group(1)) <= 1:  # the /metrics request itself
            return
        time.sleep(0.1)
    raise RuntimeError(f"requests still in flight {within_s:.0f} s after the load stopped")


def _wrk_rounds(server, headers, script, args_of_turn, clean, *, rounds, **load) -> dict:
    """`rounds` wrk runs of `script`, `clean()` before each and after the last."""
    runs = []
    try:
        for turn in range(rounds):
            clean()
            runs.append(
                wrk.run(
                    server.base + "/",
                    headers,
                    script=script,
                    script_args=args_of_turn(turn),
                    **load,
                )
            )
            _settle(server)
    finally:
        clean()
    return {**_summary(runs), "connections": load["connections"]}


def _object_requests(server, headers, ds, action, clean, *, rounds, **load) -> dict:
    """A member's `action` (`restore`, `delete`) requests, each for another object of
    institution 1, each round on objects no earlier round asked about (bench/lua)."""
    per_turn = ds.objects // ds.institutions // rounds
    return _wrk_rounds(
        server,
        headers,
        "object_request.lua",
        lambda turn: [
            str(ds.institutions),
            str(ds.objects),
            str(load["threads"]),
            str(turn * per_turn),
            action,
        ],
        clean,
        rounds=rounds,
        **load,
    )


def restore(server: Server, url: str, ds: DataSet, *, rounds: int, **load) -> dict:
    """A member's restore requests (the read scenarios' caller), each for another object of
    institution 1."""
    headers = caller_headers(ds)
    clean = lambda: _execute(url, ["DELETE FROM work_items WHERE note = 'Restore requested'"])  # noqa: E731
    return _object_requests(server, headers, ds, "restore", clean, rounds=rounds, **load)


ADMIN_EMAIL = "admin@inst1.bench.edu"


def _add_institutional_admin(url: str, ds: DataSet, institution_id: int) -> int:
    """An institutional admin of institution 1, for the deletion requests (the generated data
    has none): its user id. `deletion_request` removes it, its key and its alerts again."""
    from models.storage.base import utcnow
    from models.user import ApiKey, User, digest_of

    def work(_):
        user = User.create(
            email=ADMIN_EMAIL,
            name="Write bench admin",
            role="institutional_admin",
            institution=institution_id,
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        secret = bench_key(ADMIN_EMAIL, ds.seed)
        ApiKey.create(user=user, prefix=secret[:12], digest=digest_of(secret), created_at=utcnow())
        return user.id

    return _in_transaction(url, work)


_REQUESTS_OF = "SELECT id FROM deletion_requests WHERE requested_by_id = {p}"
_DELETION_CLEANUP = [
    f"DELETE FROM alerts_users WHERE alert_id IN "
    f"(SELECT id FROM alerts WHERE deletion_request_id IN ({_REQUESTS_OF}))",
    f"DELETE FROM alerts WHERE deletion_request_id IN ({_REQUESTS_OF})",
    f"DELETE FROM deletion_requests_intellectual_objects WHERE deletion_request_id IN "
    f"({_REQUESTS_OF})",
    "DELETE FROM deletion_requests WHERE requested_by_id = {p}",
]


def deletion_request(server: Server, url: str, ds: DataSet, *, rounds: int, **load) -> dict:
    """An institutional admin's deletion requests, each for another object of institution 1."""
    institution_id = _shown_object(server, ds, 1)["institution_id"]
    user_id = _add_institutional_admin(url, ds, institution_id)
    headers = {
        "X-Pharos-API-User": ADMIN_EMAIL,
        "X-Pharos-API-Key": bench_key(ADMIN_EMAIL, ds.seed),
    }
    clean = lambda: _execute(url, _DELETION_CLEANUP, params=(user_id,))  # noqa: E731
    try:
        return _object_requests(server, headers, ds, "delete", clean, rounds=rounds, **load)
    finally:
        _execute(
            url,
            [
                "DELETE FROM alerts_users WHERE user_id = {p}",
                "DELETE FROM api_keys WHERE user_id = {p}",
                "DELETE FROM users WHERE id = {p}",
            ],
            params=(user_id,),
        )


def object_create(server: Server, url: str, ds: DataSet, *, rounds: int, **load) -> dict:
    """The admin API's object creates, each a new object of institution 1."""
    institution_id = _shown_object(server, ds, 1)["institution_id"]
    prefix = object_identifier(ds, 1).split("/")[0]
    tag = uuid.uuid4().hex[:8]
    return _wrk_rounds(
        server,
        {**_sysadmin(ds), "Content-Type": "application/json"},
        "object_create.lua",
        lambda turn: [str(institution_id), prefix, f"{tag}-{turn}"],
        lambda: _execute(
            url,
            ["DELETE FROM intellectual_objects WHERE identifier LIKE {p}"],
            params=(f"{prefix}/wbench-%",),
        ),
        rounds=rounds,
        **load,
    )


def file_create(server: Server, url: str, ds: DataSet, *, rounds: int, **load) -> dict:
    """The admin API's file creates (one checksum, one storage record), into one object."""
    obj = _shown_object(server, ds, BATCH_OBJECT)
    tag = random.randrange(1 << 31)
    return _wrk_rounds(
        server,
        {**_sysadmin(ds), "Content-Type": "application/json"},
        "file_create.lua",
        lambda turn: [
            str(obj["institution_id"]),
            str(obj["id"]),
            obj["identifier"],
            str(tag + turn),
        ],
        lambda: _execute(
            url,
            _files_cleanup(obj["id"]),
            refresh_object=obj["id"],
            params=(f"{obj['identifier']}/wbench-%",),
        ),
        rounds=rounds,
        **load,
    )


def _files_cleanup(object_id: int) -> list[str]:
    """Statements deleting `object_id`'s files whose identifier is LIKE the one parameter."""
    chosen = (
        f"SELECT id FROM generic_files WHERE intellectual_object_id = {int(object_id)} "
        "AND identifier LIKE {p}"
    )
    return [
        f"DELETE FROM {table} WHERE generic_file_id IN ({chosen})"
        for table in ("checksums", "storage_records", "premis_events")
    ] + [
        f"DELETE FROM generic_files WHERE intellectual_object_id = {int(object_id)} "
        "AND identifier LIKE {p}"
    ]


def _batch_body(object_id: int, identifier: str, tag: str, rng: random.Random) -> bytes:
    files = []
    for i in range(BATCH_SIZE):
        key = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        files.append(
            {
                "identifier": f"{identifier}/batch-{tag}/file-{i:05d}.bin",
                "intellectual_object_id": object_id,
                "file_format": "application/octet-stream",
                "size": rng.randrange(1, 10**9),
                "uuid": key,
                "checksums": [
                    {
                        "algorithm": "md5",
                        "datetime": "2024-05-01T12:00:00Z",
                        "digest": f"{rng.getrandbits(128):032x}",
                    },
                    {
                        "algorithm": "sha256",
                        "datetime": "2024-05-01T12:00:00Z",
                        "digest": f"{rng.getrandbits(256):064x}",
                    },
                ],
                "storage_records": [{"url": f"https://s3.example.org/preservation/{key}"}],
            }
        )
    return orjson.dumps(files)


def _batch_target(server: Server, ds: DataSet) -> tuple[dict, str, dict]:
    obj = _shown_object(server, ds, BATCH_OBJECT)
    path = f"{server.base}/admin-api/v3/files/create_batch/{obj['institution_id']}"
    return obj, path, {**_sysadmin(ds), "Content-Type": "application/json"}


def batch_create(server: Server, url: str, ds: DataSet, *, repeats: int) -> dict:
    """Files/s of one 10,000-file batch at a time (the median of `repeats`)."""
    obj, path, headers = _batch_target(server, ds)
    identifier = obj["identifier"]
    seconds = []
    for n in range(repeats):
        body = _batch_body(obj["id"], identifier, f"{n}", random.Random(ds.seed + n))
        started = time.perf_counter()
        answer = httpx.post(path, content=body, headers=headers, timeout=300)
        seconds.append(time.perf_counter() - started)
        _execute(
            url,
            _files_cleanup(obj["id"]),
            refresh_object=obj["id"],
            params=(f"{identifier}/batch-%",),
        )
        if answer.status_code != 201:
            raise RuntimeError(f"batch create answered {answer.status_code}: {answer.text[:500]}")
    median = statistics.median(seconds)
    return {
        "files": BATCH_SIZE,
        "seconds": seconds,
        "median_seconds": median,
        "files_per_second": BATCH_SIZE / median,
        "body_bytes": len(body),
    }


def _nearest_rank(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def batch_tails(
    server: Server, url: str, ds: DataSet, *, connections: int, batches_each: int
) -> dict:
    """`connections` ingest clients at once, each sending `batches_each` 10,000-file batches one
    after another: every answer's latency (refusals included: a 503 that sheds load is an
    answer too) and how many were not 201."""
    obj, path, headers = _batch_target(server, ds)
    identifier = obj["identifier"]
    bodies = [
        [
            _batch_body(
                obj["id"], identifier, f"t{c}-{b}", random.Random(ds.seed * 7919 + c * 97 + b)
            )
            for b in range(batches_each)
        ]
        for c in range(connections)
    ]
    answers: list[tuple[float, int]] = []

    def client(own: list[bytes]) -> None:
        with httpx.Client(timeout=300) as http:
            for body in own:
                started = time.perf_counter()
                status = http.post(path, content=body, headers=headers).status_code
                answers.append((time.perf_counter() - started, status))

    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(connections) as pool:
            list(pool.map(client, bodies))
        wall = time.perf_counter() - started
    finally:
        _execute(
            url,
            _files_cleanup(obj["id"]),
            refresh_object=obj["id"],
            params=(f"{identifier}/batch-t%",),
        )
    latencies_ms = [seconds * 1000 for seconds, _ in answers]
    stored = sum(status == 201 for _, status in answers)
    return {
        "connections": connections,
        "requests": len(answers),
        "errors": len(answers) - stored,
        "statuses": sorted({status for _, status in answers}),
        "p50_ms": _nearest_rank(latencies_ms, 0.5),
        "p99_ms": _nearest_rank(latencies_ms, 0.99),
        "files_per_second": stored * BATCH_SIZE / wall,
    }


SCENARIOS = {
    "restore request": restore,
    "deletion request": deletion_request,
    "object create": object_create,
    "file create": file_create,
}
