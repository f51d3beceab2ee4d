"""Whole-inventory reads (issue 17): a streamed export against a raw-driver floor, and a deep
cursor page against the first page, in one process and one run, as ratios.

    python -m bench.inventory --objects 100000 [--files-per-object 3] [--database-url URL]

- Export: rows/s of `GET /admin-api/v3/files/export` (every file, NDJSON, as the sysadmin,
  through the whole app in-process, read as a stream) against a floor that runs the export's
  own SQL as one statement on the raw driver (sqlite3 / psycopg) and writes each row with
  orjson. The worker's resident memory is sampled while the export streams: its growth over
  the resident size before it is reported.
- Cursor: p50 of the first page of `GET /admin-api/v3/objects` (20 a page, the default sort)
  against the page DEPTH pages in, by `cursor` (the cursor the walk would have reached there,
  made from that page's last row) and by `page` (an OFFSET), REPEAT requests each.

Results are printed as Markdown; commit them under bench/results/.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import orjson


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


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

    from bench.databases import scaled_url
    from bench.generate import DataSet, bench_key, ensure

    base = args.database_url or f"sqlite:///{Path('var/bench').resolve()}/bench.db"
    Path("var/bench").mkdir(parents=True, exist_ok=True)
    url = scaled_url(base, args.objects, args.files_per_object)
    ds = DataSet(args.objects, args.files_per_object, args.institutions, 1)
    ensure(url, ds)

    from models.file_views import FILES
    from models.intellectual_object import OBJECTS
    from models.storage.cursor import encode
    from models.storage.db import database
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

    # -- export against the floor ---------------------------------------------------------------
    rss_before, rss_peak, rows = _rss_mb(), 0.0, 0
    began = time.perf_counter()
    with client.stream("GET", "/admin-api/v3/files/export", headers=headers) as response:
        assert response.status_code == 200, response.read()
        for chunk in response.iter_bytes():
            rows += chunk.count(b"\n")
            rss_peak = max(rss_peak, _rss_mb())
    export_s = time.perf_counter() - began

    compiled, _ = FILES._compiled(("rows", (), tuple(FILES.default_sort), False, None))
    floor_sql = compiled.sql.rsplit(" LIMIT ", 1)[0]
    names = FILES._names
    began, floor_rows, floor_bytes = time.perf_counter(), 0, 0
    with database.connection_context():
        cursor = database.cursor()
        cursor.execute(floor_sql, compiled.bind([]))
        while batch := cursor.fetchmany(1000):
            out = b"".join(
                orjson.dumps(dict(zip(names, row, strict=True))) + b"\n" for row in batch
            )
            floor_rows += len(batch)
            floor_bytes += len(out)
    floor_s = time.perf_counter() - began
    assert floor_rows == rows, (floor_rows, rows)
    print("| Export (NDJSON, every file) | rows | seconds | rows/s |")
    print("|---|---:|---:|---:|")
    print(f"| Registry `files/export` | {rows:,} | {export_s:.2f} | {rows / export_s:,.0f} |")
    print(
        f"| floor (raw driver + orjson) | {floor_rows:,} | {floor_s:.2f} | "
        f"{floor_rows / floor_s:,.0f} |"
    )
    print(
        f"\nRatio Registry/floor: **{floor_s / export_s:.2f}×** (target ≥ 0.5×). "
        f"Resident memory {rss_before:.0f} MB before the export, peak {rss_peak:.0f} MB "
        f"while it streamed: growth **{rss_peak - rss_before:.0f} MB** (target < 50 MB).\n"
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

    def timed(params: dict) -> tuple[float, list]:
        samples, body = [], None
        for _ in range(args.repeat):
            began = time.perf_counter()
            response = client.get("/admin-api/v3/objects", params=params, headers=headers)
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


if __name__ == "__main__":
    main()
