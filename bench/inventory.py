"""Whole-inventory reads (issue 17): a streamed export against a raw-driver floor, and a deep
cursor page against the first page, in one process and one run, as ratios.

    python -m bench.inventory --objects 100000 [--files-per-object 3] [--database-url URL]

- Export: rows/s of `GET /admin-api/v3/files/export` (every file, NDJSON, as the sysadmin,
  uncompressed) from `registry serve --workers 1` against a floor app under the same gunicorn
  command (`floor_app`) that runs the export's own SQL as one statement on the raw driver
  (sqlite3 / psycopg) and writes each row with orjson, both read as a stream over HTTP. The
  Registry worker's resident memory is sampled while the export streams: its growth over the
  resident size before it is reported.
- Conditional GET: req/s of a page of objects (20 and 1,000 a page) answered 200 against the
  same request with its ETag in If-None-Match, answered 304, over HTTP from the same server.
- Search: p50 of `title__contains` matching one object, as a member and as the sysadmin.
- Cursor: p50 of the first page of `GET /admin-api/v3/objects` (20 a page, the default sort)
  against the page DEPTH pages in, by `cursor` (the cursor the walk would have reached there,
  made from that page's last row) and by `page` (an OFFSET), REPEAT requests each.

Results are printed as Markdown; commit them under bench/results/.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import time
from pathlib import Path

import httpx
import orjson

OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z


def _rss_mb(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stream(server, path: str, headers: dict) -> tuple[int, float, float, float]:
    """(rows, seconds, worker RSS before, worker RSS at most) of one export read as a stream,
    uncompressed, the worker's memory sampled at each chunk read."""
    (worker,) = server.worker_pids()
    before = peak = _rss_mb(worker)
    rows = 0
    began = time.perf_counter()
    with httpx.stream(
        "GET",
        server.base + path,
        headers={**headers, "Accept-Encoding": "identity"},
        timeout=600,
    ) as response:
        assert response.status_code == 200, response.read()
        for n, chunk in enumerate(response.iter_raw(1 << 16)):
            rows += chunk.count(b"\n")
            if n % 16 == 0:
                peak = max(peak, _rss_mb(worker))
    return rows, time.perf_counter() - began, before, peak


def _conditional(server, headers: dict, per_page: int, requests: int = 200) -> tuple:
    """(per_page, req/s answered 200, req/s answered 304) for one page of objects, asked
    `requests` times by one keep-alive client without, then with, its ETag."""
    url = f"{server.base}/admin-api/v3/objects?per_page={per_page}"
    plain = {**headers, "Accept-Encoding": "identity"}
    rates = []
    with httpx.Client(timeout=60) as http:
        tag = http.get(url, headers=plain).headers["etag"]
        for extra, status in (({}, 200), ({"If-None-Match": tag}, 304)):
            began = time.perf_counter()
            for _ in range(requests):
                response = http.get(url, headers={**plain, **extra})
                assert response.status_code == status, response.status_code
            rates.append(requests / (time.perf_counter() - began))
    return per_page, rates[0], rates[1]


class floor_app:  # noqa: N801 - gunicorn's app factory notation: bench.inventory:floor_app()
    """The export floor: the export's SQL as one statement, straight on the driver (a named,
    server-side cursor on PostgreSQL; fetchmany on SQLite), each row a dict and orjson, sent
    in chunks of 1,000 rows. No routing, no auth, no validation: the cost of the database and
    the bytes."""

    def __init__(self):
        self.url = os.environ["BENCH_EXPORT_URL"]
        self.sql = os.environ["BENCH_EXPORT_SQL"]
        self.columns = os.environ["BENCH_EXPORT_COLUMNS"].split(",")
        self.params = orjson.loads(os.environ["BENCH_EXPORT_PARAMS"])  # the SQL's constants

    def _batches(self):
        if self.url.startswith("postgres"):
            import psycopg

            with psycopg.connect(self.url.replace("postgresql+psycopg", "postgresql")) as conn:
                with conn.cursor(name="export") as cursor:
                    cursor.execute(self.sql, self.params)
                    while batch := cursor.fetchmany(1000):
                        yield batch
            return
        import sqlite3

        conn = sqlite3.connect(self.url[len("sqlite:///") :])
        try:
            cursor = conn.execute(self.sql, self.params)
            while batch := cursor.fetchmany(1000):
                yield batch
        finally:
            conn.close()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        start = {"type": "http.response.start", "status": 200}
        if scope["path"] == "/livez":
            await send({**start, "headers": [(b"content-type", b"text/plain")]})
            return await send({"type": "http.response.body", "body": b"ok"})
        await send({**start, "headers": [(b"content-type", b"application/x-ndjson")]})
        names = self.columns
        for batch in self._batches():
            body = b"".join(
                orjson.dumps(dict(zip(names, row, strict=True)), option=OPTIONS) + b"\n"
                for row in batch
            )
            await send({"type": "http.response.body", "body": body, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


def _p50(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--files-per-object", type=int, default=3)
    parser.add_argument("--institutions", type=int, default=10)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--depth", type=int, default=None, help="pages in (default: 80 %%)")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)

    from bench import servers
    from bench.databases import scaled_url
    from bench.generate import DataSet, bench_key, ensure, member_email

    base = args.database_url or f"sqlite:///{Path('var/bench').resolve()}/bench.db"
    Path("var/bench").mkdir(parents=True, exist_ok=True)
    url = scaled_url(base, args.objects, args.files_per_object)
    ds = DataSet(args.objects, args.files_per_object, args.institutions, 1)
    ensure(url, ds)

    from models.file_views import FILES
    from models.intellectual_object import OBJECTS
    from models.storage.cursor import encode
    from registry.app import create_app
    from registry.settings import Settings

    app = create_app(Settings(database_url=url, validate_responses=False, rate_limit=False))
    client = app.test_client()
    email = "admin@aptrust.org"
    headers = {"X-Pharos-API-User": email, "X-Pharos-API-Key": bench_key(email)}
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(
        f"## Inventory reads, {backend}, {args.objects:,} objects, "
        f"{args.objects * args.files_per_object:,} files\n"
    )

    # -- export against the floor, both served over HTTP by gunicorn (one worker each) --------
    compiled, _ = FILES._compiled(("rows", (), tuple(FILES.default_sort), False, None))
    floor_env = {
        "BENCH_EXPORT_URL": url,
        "BENCH_EXPORT_SQL": compiled.sql.rsplit(" LIMIT ", 1)[0],
        "BENCH_EXPORT_COLUMNS": ",".join(FILES._names),
        "BENCH_EXPORT_PARAMS": orjson.dumps(compiled.bind([])).decode(),
    }
    registry_port = free_port()
    floor_port = free_port()
    while floor_port == registry_port:
        floor_port = free_port()
    registry = servers.start_registry(url, registry_port, 1)
    floor = servers.launch(
        "export-floor",
        servers.gunicorn_argv("bench.inventory:floor_app()", floor_port, 1),
        floor_env,
        floor_port,
    )
    results = {}
    try:
        servers.wait_ready(registry, "/livez")
        servers.wait_ready(floor, "/livez")
        for name, server, path in (
            ("Registry `files/export`", registry, "/admin-api/v3/files/export"),
            ("floor (raw driver + orjson)", floor, "/export"),
            ("Registry `files/export`, again", registry, "/admin-api/v3/files/export"),
        ):
            results[name] = _stream(server, path, headers)
        conditional = [_conditional(registry, headers, n) for n in (20, 1000)]
    finally:
        registry.stop()
        floor.stop()
    (reg_rows, reg_s, rss_before, rss_peak), (floor_rows, floor_s, _, _), again = results.values()
    assert reg_rows == floor_rows == again[0], (reg_rows, floor_rows, again[0])
    print("| Export (NDJSON, every file, no compression) | rows | seconds | rows/s |")
    print("|---|---:|---:|---:|")
    for name, (rows, seconds, _, _) in results.items():
        print(f"| {name} | {rows:,} | {seconds:.2f} | {rows / seconds:,.0f} |")
    print(
        f"\nRatio Registry/floor: **{floor_s / reg_s:.2f}×** (target ≥ 0.5×; the first run of "
        f"each). The Registry worker's resident memory: {rss_before:.0f} MB before the first "
        f"export, at most {rss_peak:.0f} MB while it streamed (growth "
        f"{rss_peak - rss_before:.0f} MB); {again[2]:.0f} MB before the second, at most "
        f"{again[3]:.0f} MB while it streamed: growth **{again[3] - again[2]:.0f} MB** "
        f"(target < 50 MB). "
        + (
            "The first export's growth is the connection's page cache filling (SQLite's "
            "`cache_size` of 64 MB, models/storage/db.py), which any large read fills; the "
            "second, on a full cache, is what the export itself holds.\n"
            if backend == "SQLite"
            else "(PostgreSQL's caches are the server's, not the worker's.)\n"
        )
    )

    print("| Objects list, answered | page of | 200 req/s | 304 req/s | 304 against 200 |")
    print("|---|---:|---:|---:|---:|")
    for per_page, ok, not_modified in conditional:
        print(
            f"| `If-None-Match` matching vs none | {per_page} | {ok:,.0f} | {not_modified:,.0f} "
            f"| **{not_modified / ok:.2f}×** |"
        )
    print(
        "\n(target: a 304 ≥ 1.5× the req/s of the 200; one keep-alive client, sequential "
        "requests over HTTP, uncompressed)\n"
    )

    # -- a deep page: cursor against page ------------------------------------------------------
    per_page = 20
    depth = args.depth or max(1, int(args.objects / per_page * 0.8))
    first = client.get("/admin-api/v3/objects", headers=headers).json()
    assert first["count"] == args.objects
    deep_rows = client.get(
        "/admin-api/v3/objects",
        params={"page": depth - 1, "per_page": per_page},
        headers=headers,
    ).json()["results"]
    keys = OBJECTS._sort_keys(OBJECTS.default_sort)
    cursor_text = encode(OBJECTS._cursor_signature(keys), [deep_rows[-1][name] for name, _ in keys])

    def timed(params: dict, path: str = "/admin-api/v3/objects", who=headers) -> tuple:
        samples, body = [], None
        for _ in range(args.repeat):
            began = time.perf_counter()
            response = client.get(path, params=params, headers=who)
            samples.append(time.perf_counter() - began)
            assert response.status_code == 200, response.text
            body = response.json()
        return _p50(samples), body["results"]

    first_ms, _ = timed({"per_page": per_page})
    cursor_ms, cursor_rows = timed({"cursor": cursor_text, "per_page": per_page})
    offset_ms, offset_rows = timed({"page": depth, "per_page": per_page})
    assert cursor_rows == offset_rows, "the cursor page and the numbered page differ"
    print(f"| Objects list, {per_page} a page | p50 ms | against the first page |")
    print("|---|---:|---:|")
    print(f"| first page | {first_ms:.2f} | 1.00× |")
    print(f"| page {depth:,} by `cursor` | {cursor_ms:.2f} | **{cursor_ms / first_ms:.2f}×** |")
    print(f"| page {depth:,} by `page` (OFFSET) | {offset_ms:.2f} | {offset_ms / first_ms:.2f}× |")
    print(f"\n(target: the cursor page ≤ 1.5× the first; {args.repeat} requests each, in-process)")

    # -- search ----------------------------------------------------------------------------------
    member = member_email(1)
    member_headers = {"X-Pharos-API-User": member, "X-Pharos-API-Key": bench_key(member)}
    term = f"object {args.objects * 7 // 10 + 3}"
    print(f"\n| `title__contains={term}` | p50 ms | rows |")
    print("|---|---:|---:|")
    for who, path, caller in (
        ("a member (its institution's objects)", "/member-api/v3/objects", member_headers),
        ("the sysadmin (every object)", "/admin-api/v3/objects", headers),
    ):
        ms, rows = timed({"title__contains": term}, path, caller)
        print(f"| {who} | {ms:.2f} | {len(rows)} |")
    print("\n(target: p50 ≤ 50 ms at 1 M objects on PostgreSQL; in-process)")


if __name__ == "__main__":
    main()
