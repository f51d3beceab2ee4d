"""What each index costs a 10,000-file batch on PostgreSQL, at the data set's own size.

    python -m bench.index_cost --database-url postgresql://postgres@127.0.0.1:5432/test_1000000x1

Writes one batch the way `files/create_batch` does (binary COPY of the files, then of their
checksums, events and storage records; ids drawn from the sequences) inside a transaction that
is rolled back, so the data set is left as it was. It does so with every index in place, then
once without each index of the four tables (dropped inside the same rolled-back transaction),
REPEAT times each, interleaved: an index's cost is the median time with it minus the median
time without it. Results are printed as Markdown, for bench/results/ and issue 20's index
decision. Needs an idle server: other writers would wait on the dropped indexes' locks.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from datetime import datetime

import psycopg

TABLES = ("generic_files", "checksums", "premis_events", "storage_records")
NOW = datetime(2026, 12, 6, 12, 0, 0)


def _rows(object_id: int, object_identifier: str, institution_id: int, count: int, sums: int):
    files, checksums, events, storage = [], [], [], []
    for i in range(count):
        key = str(uuid.uuid4())
        files.append(
            (
                "application/octet-stream",
                1000 + i,
                f"{object_identifier}/data/dir{i % 100}/file{i}.bin",
                object_id,
                NOW,
                NOW,
                "A",
                NOW,
                institution_id,
                "Standard",
                key,
                None,
            )
        )
        for algorithm in ("sha256", "md5")[:sums]:
            checksums.append((i, institution_id, algorithm, NOW, uuid.uuid4().hex * 2, NOW, NOW))
        events.append(
            (i, institution_id, object_id, str(uuid.uuid4()), "ingestion", NOW, "Success",
             "bench", "copied", "bench", "ok", "ok", NOW, NOW)
        )  # fmt: skip
        storage.append((i, f"https://s3.example.com/preservation/{key}"))
    return files, checksums, events, storage


FILE_COLUMNS = (
    "file_format size identifier intellectual_object_id created_at updated_at state "
    "last_fixity_check institution_id storage_option uuid mod_time"
).split()
CHECKSUM_COLUMNS = (
    "generic_file_id institution_id algorithm datetime digest created_at updated_at".split()
)
EVENT_COLUMNS = (
    "generic_file_id institution_id intellectual_object_id identifier event_type date_time "
    "outcome agent detail object outcome_detail outcome_information created_at updated_at"
).split()
STORAGE_COLUMNS = ["generic_file_id", "url"]


def _copy(conn, table: str, columns: list[str], rows) -> None:
    types = dict(
        conn.execute(
            "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass "
            "AND attnum > 0 AND NOT attisdropped",
            [table],
        ).fetchall()
    )
    names = ", ".join(f'"{c}"' for c in columns)
    with conn.cursor().copy(f'COPY "{table}" ({names}) FROM STDIN (FORMAT BINARY)') as copy:
        copy.set_types([types[c] for c in columns])
        for row in rows:
            copy.write_row(row)


def one_batch(conn, target, count: int, sums: int, drop: tuple = ()) -> dict[str, float]:
    """Seconds per table of one batch, rolled back, after the statements `drop` (which drop
    an index, a constraint or a trigger inside the same transaction)."""
    object_id, object_identifier, institution_id = target
    # a fresh object identifier each time: the unique index sees new keys, as an ingest's are
    files, checksums, events, storage = _rows(
        object_id, f"{object_identifier}-{uuid.uuid4().hex[:8]}", institution_id, count, sums
    )
    spent = {}
    with conn.transaction(force_rollback=True):
        for statement in drop:
            conn.execute(statement)
        began = time.perf_counter()
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT nextval(pg_get_serial_sequence('generic_files', 'id')) "
                "FROM generate_series(1, %s)",
                [count],
            )
        ]
        _copy(
            conn,
            "generic_files",
            ["id", *FILE_COLUMNS],
            [(i, *f) for i, f in zip(ids, files, strict=True)],
        )
        spent["generic_files"] = time.perf_counter() - began
        for table, columns, rows in (
            ("checksums", CHECKSUM_COLUMNS, checksums),
            ("premis_events", EVENT_COLUMNS, events),
            ("storage_records", STORAGE_COLUMNS, storage),
        ):
            began = time.perf_counter()
            _copy(conn, table, columns, [(ids[r[0]], *r[1:]) for r in rows])
            spent[table] = time.perf_counter() - began
    return spent


# Index sets measured against every index (each dropped inside the rolled-back transaction).
CANDIDATES = {
    # sorts of a member's files by a column of two or three values, or by a unique key
    # another index already orders (uuid): see README "Indexes and writes"
    "files: (institution_id, uuid | state | storage_option, id)": (
        "idx_generic_files__institution_id__uuid__id",
        "idx_generic_files__institution_id__state__id",
        "idx_generic_files__institution_id__storage_option__id",
    ),
    "files: the trigram index (identifier__contains)": (
        "idx_generic_files__lower_identifier__trgm",
    ),
    "checksums and events: (institution_id, updated_at, id)": (
        "idx_checksums__institution_id__updated_at__id",
        "idx_premis_events__institution_id__updated_at__id",
    ),
}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--checksums", type=int, default=2, choices=(1, 2))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--each", action="store_true", help="also each index alone (noisy)")
    args = parser.parse_args(argv)
    with psycopg.connect(args.database_url) as conn:
        target = conn.execute(
            "SELECT id, identifier, institution_id FROM intellectual_objects ORDER BY id LIMIT 1"
        ).fetchone()
        indexes = conn.execute(
            "SELECT i.tablename, i.indexname, i.indexdef, x.indisunique FROM pg_indexes i "
            "JOIN pg_class c ON c.relname = i.indexname JOIN pg_index x ON x.indexrelid = c.oid "
            "WHERE i.tablename = ANY(%s) AND NOT x.indisprimary ORDER BY 1, 2",
            [list(TABLES)],
        ).fetchall()
        rows = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in TABLES}
        present = {name for _, name, _, _ in indexes}

        def without(*names: str) -> tuple:
            return tuple(f'DROP INDEX "{name}"' for name in names)

        sets = {"every index": ()}
        sets.update((k, without(*v)) for k, v in CANDIDATES.items() if set(v) <= present)
        sets["unique keys only (every other index dropped)"] = without(
            *(name for _, name, _, unique in indexes if not unique)
        )
        foreign_keys = conn.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)",
            [list(TABLES)],
        ).fetchall()
        sets["no foreign keys (every index kept)"] = tuple(
            f'ALTER TABLE {table} DROP CONSTRAINT "{name}"' for table, name in foreign_keys
        )
        sets["no tally triggers (every index kept)"] = tuple(
            f"ALTER TABLE {table} DISABLE TRIGGER USER" for table in TABLES
        )
        sets["unique keys only, no foreign keys, no triggers"] = (
            sets["unique keys only (every other index dropped)"]
            + sets["no foreign keys (every index kept)"]
            + sets["no tally triggers (every index kept)"]
        )
        if args.each:
            sets.update((f"`{name}`", without(name)) for _, name, _, _ in indexes)
        trials: dict[str, list[dict]] = {name: [] for name in sets}
        one_batch(conn, target, args.files, args.checksums)  # warm up
        for _ in range(args.repeat):  # interleaved, so that drift spreads over every set
            for name, drop in sets.items():
                trials[name].append(one_batch(conn, target, args.files, args.checksums, drop))

    def median(name, table=None) -> float:
        return statistics.median((t[table] if table else sum(t.values())) for t in trials[name])

    total = median("every index")
    print(
        f"## Index cost of a {args.files:,}-file batch ({args.checksums} checksum(s), 1 event, "
        f"1 storage record a file), PostgreSQL, COPY alone (what a set saves is the "
        "server's work on what it leaves out)\n\n"
        + ", ".join(f"{t}: {n:,} rows" for t, n in rows.items())
        + f". Median of {args.repeat}, interleaved.\n"
    )
    print("| indexes | seconds | files/s | saved | " + " | ".join(TABLES) + " |")
    print("|---|---:|---:|---:|" + "---:|" * len(TABLES))
    for name in sets:
        seconds = median(name)
        print(
            f"| {name} | {seconds:.3f} | {args.files / seconds:,.0f} | "
            f"{(total - seconds) / total:.0%} | "
            + " | ".join(f"{median(name, t):.3f}" for t in TABLES)
            + " |"
        )
    print("\nIndexes of the four tables (besides primary keys):\n")
    for table, name, definition, _ in indexes:
        print(f"- {table}: `{name}` {definition.split(' USING ', 1)[1]}")


if __name__ == "__main__":
    main()
