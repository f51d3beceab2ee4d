"""Files per second of POST /admin-api/v3/files/create_batch over HTTP, on SQLite or PostgreSQL.

    python bench/batch_create.py --database-url sqlite:////tmp/bench.db [--runs 5] [--files 10000]
    python bench/batch_create.py --database-url postgresql://postgres@127.0.0.1:5432/bench
    python bench/batch_create.py --url http://127.0.0.1:8103 --user E --key K --institution-id 2

Each run sends one batch of --files files, each with one checksum, one PREMIS event and one
storage record, into a new object, and times the request from send to answer (JSON encoding of
the body is done beforehand), in wall-clock time and in CPU time of this process; on a busy
machine the CPU time is the steadier measure of the Python side.
The in-process mode drives the ASGI app with httpx; the database
named is reset (PostgreSQL: schema public dropped; SQLite: file removed), migrated and seeded
with the demo. --url measures a running server instead (its own database; the key must be a
sysadmin's). Prints each run and the median.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid

import httpx

ADMIN = "/admin-api/v3"


def batch(object_identifier: str, object_id: int, count: int) -> bytes:
    files = []
    for i in range(count):
        key = str(uuid.uuid4())
        files.append(
            {
                "identifier": f"{object_identifier}/data/dir{i % 100}/file{i}.bin",
                "intellectual_object_id": object_id,
                "file_format": "application/octet-stream",
                "size": 1000 + i,
                "uuid": key,
                "checksums": [
                    {
                        "algorithm": "sha256",
                        "datetime": "2026-01-02T03:04:05Z",
                        "digest": uuid.uuid4().hex * 2,
                    }
                ],
                "premis_events": [
                    {
                        "identifier": str(uuid.uuid4()),
                        "event_type": "ingestion",
                        "date_time": "2026-01-02T03:04:05Z",
                        "outcome": "Success",
                        "agent": "bench",
                        "detail": "copied",
                        "object": "bench",
                        "outcome_detail": "ok",
                        "outcome_information": "ok",
                    }
                ],
                "storage_records": [{"url": f"https://s3.example.com/preservation/{key}"}],
            }
        )
    return json.dumps(files).encode()


async def run(
    client: httpx.AsyncClient, institution: int, prefix: str, files: int, runs: int
) -> list[float]:
    rates, cpus = [], []
    for n in range(runs + 1):  # the first run warms up and is not counted
        bag = f"bench-{uuid.uuid4().hex[:12]}"
        made = await client.post(
            f"{ADMIN}/objects/create/{institution}",
            json={"identifier": f"{prefix}/{bag}", "title": bag},
        )
        assert made.status_code == 201, made.text
        body = batch(f"{prefix}/{bag}", made.json()["id"], files)
        started, cpu = time.perf_counter(), time.process_time()
        answer = await client.post(
            f"{ADMIN}/files/create_batch/{institution}",
            content=body,
            headers={"content-type": "application/json"},
        )
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert answer.status_code == 201, answer.text[:2000]
        assert answer.json()["count"] == files
        check = await client.get(f"{ADMIN}/objects/show/{made.json()['id']}")
        assert check.json()["file_count"] == files, check.text
        if n:
            rates.append(files / elapsed)
            cpus.append(cpu)
            print(
                f"run {n}: {files} files in {elapsed:.3f} s = {files / elapsed:,.0f} files/s"
                f" (CPU of this process {cpu:.3f} s)",
                flush=True,
            )
    print(
        f"median CPU of this process per batch: {statistics.median(cpus):.3f} s "
        "(in-process: client, app, driver and SQLite; a PostgreSQL server's work is not "
        "in it)"
    )
    return rates


def reset(url: str) -> None:
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")


async def in_process(args) -> list[float]:
    from models.storage.db import connection, database
    from models.storage.migrations import migrate
    from models.user import User, issue_key
    from registry.app import create_app
    from registry.seed.demo import seed_demo
    from registry.settings import Settings

    reset(args.database_url)
    app = create_app(Settings(database_url=args.database_url, validate_responses=False))
    with connection():
        migrate()
        seed_demo()
        with database.atomic():
            key = issue_key(User.get(User.email == "admin@aptrust.org"))
    headers = {"X-Pharos-API-User": "admin@aptrust.org", "X-Pharos-API-Key": key}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        headers=headers,
        base_url="http://bench.local",
        timeout=None,
    ) as client:
        return await run(client, 2, "example.edu", args.files, args.runs)


async def remote(args) -> list[float]:
    headers = {"X-Pharos-API-User": args.user, "X-Pharos-API-Key": args.key}
    async with httpx.AsyncClient(base_url=args.url, headers=headers, timeout=None) as client:
        inst = (await client.get(f"{ADMIN}/institutions/show/{args.institution_id}")).json()
        return await run(client, args.institution_id, inst["identifier"], args.files, args.runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="in-process: the database to reset and use")
    parser.add_argument("--url", help="a running server instead")
    parser.add_argument("--user")
    parser.add_argument("--key")
    parser.add_argument("--institution-id", type=int, default=2)
    parser.add_argument("--files", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not (args.url or args.database_url):
        parser.error("give --database-url (in-process) or --url (a running server)")
    rates = asyncio.run(remote(args) if args.url else in_process(args))
    print(f"median of {len(rates)}: {statistics.median(rates):,.0f} files/s")


if __name__ == "__main__":
    main()
