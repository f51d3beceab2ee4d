"""The two write scenarios: a member's restore request, and a 10,000-file batch create.

Neither has a floor (a write's floor would be a re-implementation of its rules, not a replay of
its SQL): they report Registry's own throughput and latency. Both leave the data set as they
found it, so a data set can be measured again: restore requests they made are deleted before
each round, batch files after each batch (and the object's counters refreshed by models.stats).

The batch-create speed itself is another branch's work (bench/batch_create.py, h/fixtures);
this module only measures it through the admin API as an ingest service would call it.
"""

from __future__ import annotations

import random
import statistics
import time
import uuid

import httpx
import orjson

from bench import wrk
from bench.generate import SYSADMIN_EMAIL, DataSet, bench_key, object_identifier
from bench.servers import Server

BATCH_SIZE = 10_000
BATCH_OBJECT = 5  # an object of institution 1 that no read scenario looks at


def _sysadmin(ds: DataSet) -> dict:
    return {
        "X-Pharos-API-User": SYSADMIN_EMAIL,
        "X-Pharos-API-Key": bench_key(SYSADMIN_EMAIL, ds.seed),
    }


def _execute(
    url: str, statements: list[str], refresh_object: int | None = None, params: tuple = ()
) -> None:
    """Run `statements` (each with `params` for its `{p}` placeholders) in one transaction."""
    from models.stats import refresh_object_stats
    from models.storage.db import connection, database, init_database

    init_database(url, pool_size=1)
    with connection():
        with database.atomic():
            for sql in statements:
                database.execute_sql(sql.format(p=database.param), params[: sql.count("{p}")])
            if refresh_object is not None:
                refresh_object_stats([refresh_object])
    if hasattr(database.obj, "close_all"):
        database.obj.close_all()


def restore(
    server: Server,
    url: str,
    ds: DataSet,
    headers: dict,
    *,
    rounds: int,
    seconds: float,
    connections: int,
    threads: int,
) -> dict:
    runs = []
    per_turn = ds.objects // ds.institutions // rounds
    for turn in range(rounds):
        _execute(url, ["DELETE FROM work_items WHERE note = 'Restore requested'"])
        runs.append(
            wrk.run(
                server.base + "/",
                headers,
                seconds=seconds,
                connections=connections,
                threads=threads,
                script="restore.lua",
                script_args=[
                    str(ds.institutions),
                    str(ds.objects),
                    str(threads),
                    str(turn * per_turn),
                ],
            )
        )
    _execute(url, ["DELETE FROM work_items WHERE note = 'Restore requested'"])
    return {
        "rps": statistics.median(r.rps for r in runs),
        "p50_ms": statistics.median(r.p50_ms for r in runs),
        "p99_ms": statistics.median(r.p99_ms for r in runs),
        "errors": sum(r.errors for r in runs),
        "requests": sum(r.requests for r in runs),
        "rounds": [r.as_row() for r in runs],
    }


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


def batch_create(server: Server, url: str, ds: DataSet, *, repeats: int) -> dict:
    headers = {**_sysadmin(ds), "Content-Type": "application/json"}
    identifier = object_identifier(ds, BATCH_OBJECT)
    shown = httpx.get(f"{server.base}/admin-api/v3/objects/show/{identifier}", headers=headers)
    shown.raise_for_status()
    obj = shown.json()
    path = f"{server.base}/admin-api/v3/files/create_batch/{obj['institution_id']}"
    cleanup = [
        f"DELETE FROM {table} WHERE generic_file_id IN (SELECT id FROM generic_files "
        f"WHERE intellectual_object_id = {int(obj['id'])} AND identifier LIKE {{p}})"
        for table in ("checksums", "storage_records", "premis_events")
    ] + [
        f"DELETE FROM generic_files WHERE intellectual_object_id = {int(obj['id'])} "
        "AND identifier LIKE {p}"
    ]
    seconds = []
    for n in range(repeats):
        body = _batch_body(obj["id"], identifier, f"{n}", random.Random(ds.seed + n))
        started = time.perf_counter()
        answer = httpx.post(path, content=body, headers=headers, timeout=300)
        seconds.append(time.perf_counter() - started)
        _execute(url, cleanup, refresh_object=obj["id"], params=(f"{identifier}/batch-%",))
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
