"""A deterministic data set at scale, loaded through Registry's own bulk path
(models.storage.bulk_insert).

    python -m bench.generate --objects 100000 --files-per-object 3 [--database-url URL]

The same arguments give the same rows on every machine: objects spread round-robin over
`--institutions` member institutions, each object with its files (two checksums, one ingestion
event and one storage record each) and its ingest work item; a sysadmin and one member user per
institution, with keys derived from their e-mail (`bench_key`), so the load driver needs no
state from the run that generated the data. Object counters (file_count, size, ...) are written
as `models.stats` would compute them: every generated file is active and under `data/`.

A finished data set is marked in a `bench_meta` table; asking again for the same one is a no-op.
After loading: `VACUUM ANALYZE` on PostgreSQL, `ANALYZE` on SQLite, so the planner knows the sizes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import random
import sys
import time
import uuid
from dataclasses import dataclass

from models.checksum import Checksum
from models.enums import BAGIT_PROFILE_APTRUST
from models.file_writes import FILE_FIELDS  # the file rows are built in the API's order
from models.generic_file import GenericFile
from models.institution import Institution
from models.institution_writes import buckets
from models.intellectual_object import IntellectualObject
from models.premis_event import PremisEvent
from models.storage import bulk_insert
from models.storage.db import database, init_database, is_postgres
from models.storage_record import StorageRecord
from models.user import ApiKey, User, digest_of
from models.work_item import WorkItem

EPOCH = dt.datetime(2020, 1, 1)
SYSADMIN_EMAIL = "admin@aptrust.org"
CHUNK_OBJECTS = 2000
FORMATS = [
    ("txt", "text/plain"),
    ("jpg", "image/jpeg"),
    ("tif", "image/tiff"),
    ("pdf", "application/pdf"),
    ("xml", "application/xml"),
]
STORAGE = ("Standard", "Standard", "Standard", "Wasabi-VA", "Glacier-Deep-OR")


@dataclass(frozen=True)
class DataSet:
    objects: int
    files_per_object: int
    institutions: int = 4
    seed: int = 1

    @property
    def spec(self) -> str:
        return (
            f"objects={self.objects} files_per_object={self.files_per_object} "
            f"institutions={self.institutions} seed={self.seed} v=1"
        )


def institution_identifier(n: int) -> str:
    return f"inst{n}.bench.edu"


def member_email(n: int) -> str:
    return f"user@{institution_identifier(n)}"


def bench_key(email: str, seed: int = 1) -> str:
    """The API key of a generated user (bench data only: derived, so the driver can know it)."""
    return "rgk_" + hashlib.sha256(f"registry-bench:{seed}:{email}".encode()).hexdigest()[:43]


def object_identifier(ds: DataSet, n: int) -> str:
    """The n-th object (1-based) belongs to institution ((n-1) % institutions) + 1."""
    return f"{institution_identifier((n - 1) % ds.institutions + 1)}/bag-{n:08d}"


def _at(minutes: int) -> dt.datetime:
    return EPOCH + dt.timedelta(minutes=minutes)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def is_generated(ds: DataSet) -> bool:
    if not database.table_exists("bench_meta"):
        return False
    row = database.execute_sql("SELECT spec FROM bench_meta").fetchone()
    return bool(row) and row[0] == ds.spec


def _reset() -> None:
    if is_postgres():
        database.execute_sql("DROP SCHEMA public CASCADE")
        database.execute_sql("CREATE SCHEMA public")
    else:
        for (name,) in database.execute_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall():
            database.execute_sql(f'DROP TABLE IF EXISTS "{name}"')


def generate(ds: DataSet, *, progress=print) -> float:
    """Load `ds` into the bound database (emptied first); return the seconds it took."""
    from models.storage.migrations import migrate

    started = time.perf_counter()
    _reset()
    migrate()
    with database.atomic():
        institution_ids = _institutions_and_users(ds)
    for start in range(1, ds.objects + 1, CHUNK_OBJECTS):
        stop = min(start + CHUNK_OBJECTS, ds.objects + 1)
        with database.atomic():
            _objects(ds, range(start, stop), institution_ids)
        if progress and ((stop - 1) % (CHUNK_OBJECTS * 25) == 0 or stop > ds.objects):
            progress(
                f"  {stop - 1:,} / {ds.objects:,} objects ({time.perf_counter() - started:.0f} s)"
            )
    _analyze()
    with database.atomic():
        database.execute_sql("CREATE TABLE bench_meta (spec TEXT NOT NULL)")
        database.execute_sql(f"INSERT INTO bench_meta (spec) VALUES ({database.param})", [ds.spec])
    return time.perf_counter() - started


def _institutions_and_users(ds: DataSet) -> dict[int, int]:
    ids = {}
    operator = Institution.create(
        identifier="aptrust.org",
        name="APTrust",
        type=None,
        created_at=EPOCH,
        updated_at=EPOCH,
        **buckets("aptrust.org"),
    )
    admin = User.create(
        email=SYSADMIN_EMAIL,
        name="Bench Admin",
        role="admin",
        institution=operator,
        created_at=EPOCH,
        updated_at=EPOCH,
    )
    users = [admin]
    for n in range(1, ds.institutions + 1):
        ident = institution_identifier(n)
        inst = Institution.create(
            identifier=ident,
            name=f"Bench Institution {n}",
            type="MemberInstitution",
            created_at=EPOCH,
            updated_at=EPOCH,
            **buckets(ident),
        )
        ids[n] = inst.id
        users.append(
            User.create(
                email=member_email(n),
                name=f"Bench User {n}",
                role="institutional_user",
                institution=inst,
                created_at=EPOCH,
                updated_at=EPOCH,
            )
        )
    for user in users:
        secret = bench_key(user.email, ds.seed)
        ApiKey.create(user=user, prefix=secret[:12], digest=digest_of(secret), created_at=EPOCH)
    return ids


O, F, C, E, S, W = (IntellectualObject, GenericFile, Checksum, PremisEvent, StorageRecord, WorkItem)
OBJECT_FIELDS = [
    O.title,
    O.description,
    O.identifier,
    O.alt_identifier,
    O.access,
    O.bag_name,
    O.institution,
    O.created_at,
    O.updated_at,
    O.state,
    O.etag,
    O.bag_group_identifier,
    O.storage_option,
    O.bagit_profile_identifier,
    O.source_organization,
    O.internal_sender_identifier,
    O.file_count,
    O.size,
    O.payload_file_count,
    O.payload_size,
]
CHECKSUM_FIELDS = [
    C.algorithm,
    C.datetime,
    C.digest,
    C.generic_file,
    C.institution,
    C.created_at,
    C.updated_at,
]
EVENT_FIELDS = [
    E.identifier,
    E.event_type,
    E.date_time,
    E.outcome_detail,
    E.detail,
    E.outcome_information,
    E.object,
    E.agent,
    E.intellectual_object,
    E.generic_file,
    E.created_at,
    E.updated_at,
    E.outcome,
    E.institution,
]
STORAGE_FIELDS = [S.generic_file, S.url]
ITEM_FIELDS = [
    W.created_at,
    W.updated_at,
    W.intellectual_object,
    W.name,
    W.etag,
    W.bucket,
    W.user,
    W.note,
    W.action,
    W.stage,
    W.status,
    W.outcome,
    W.bag_date,
    W.date_processed,
    W.retry,
    W.pid,
    W.needs_admin_review,
    W.institution,
    W.size,
]
# Mostly finished ingests, as in a registry in service; the rest spread over other states.
ITEM_STATES = [("Ingest", "Cleanup", "Success")] * 7 + [
    ("Ingest", "Receive", "Pending"),
    ("Ingest", "Validate", "Failed"),
    ("Fixity Check", "Resolve", "Success"),
]


def _objects(ds: DataSet, numbers: range, institution_ids: dict[int, int]) -> None:
    rng = random.Random(ds.seed * 1_000_003 + numbers.start)
    objects, files, sizes = [], [], {}
    for n in numbers:
        inst_n = (n - 1) % ds.institutions + 1
        identifier = object_identifier(ds, n)
        created = _at(n * 3)
        updated = created + dt.timedelta(minutes=(n * 7919) % 2880)
        storage = STORAGE[n % len(STORAGE)]
        file_sizes = [rng.randrange(100, 50_000_000) for _ in range(ds.files_per_object)]
        sizes[identifier] = sum(file_sizes)
        objects.append(
            (
                f"Bench object {n}",
                f"Generated object {n}." if n % 3 else None,
                identifier,
                f"alt-{n:08d}" if n % 2 else None,
                ("consortia", "institution", "restricted")[n % 3],
                f"bag-{n:08d}",
                institution_ids[inst_n],
                created,
                updated,
                "A",
                f"{rng.getrandbits(128):032x}",
                f"group-{n % 50}" if n % 4 else None,
                storage,
                BAGIT_PROFILE_APTRUST,
                f"Bench Institution {inst_n}",
                f"sender-{n}",
                ds.files_per_object,
                sizes[identifier],
                ds.files_per_object,
                sizes[identifier],
            )
        )
        for j, size in enumerate(file_sizes):
            ext, mime = FORMATS[(n + j) % len(FORMATS)]
            files.append(
                (
                    mime,
                    size,
                    f"{identifier}/data/file-{j:04d}.{ext}",
                    identifier,
                    created,
                    updated,
                    "A",
                    updated,
                    institution_ids[inst_n],
                    storage,
                    _uuid(rng),
                    created - dt.timedelta(days=30),
                )
            )
    object_ids = bulk_insert.insert(O, OBJECT_FIELDS, objects, key=O.identifier)
    files = [(*row[:3], object_ids[row[3]], *row[4:]) for row in files]
    file_ids = bulk_insert.insert(F, FILE_FIELDS, files, key=F.identifier)
    checksums, events, storage_records = [], [], []
    for row in files:
        file_id, object_id, at, inst = file_ids[row[2]], row[3], row[4], row[8]
        checksums.append(("md5", at, f"{rng.getrandbits(128):032x}", file_id, inst, at, at))
        checksums.append(("sha256", at, f"{rng.getrandbits(256):064x}", file_id, inst, at, at))
        events.append(
            (
                _uuid(rng),
                "ingestion",
                at,
                "Completed copy to preservation storage",
                "Copied all files to preservation bucket",
                f"Put {row[1]} bytes",
                "Go uploader",
                "https://github.com/minio/minio-go",
                object_id,
                file_id,
                at,
                at,
                "Success",
                inst,
            )
        )
        storage_records.append((file_id, f"https://s3.example.org/preservation/{row[10]}"))
    bulk_insert.insert(C, CHECKSUM_FIELDS, checksums)
    bulk_insert.insert(E, EVENT_FIELDS, events)
    bulk_insert.insert(S, STORAGE_FIELDS, storage_records)
    items = []
    for n, obj in zip(numbers, objects, strict=True):
        action, stage, status = ITEM_STATES[n % len(ITEM_STATES)]
        inst_n = (n - 1) % ds.institutions + 1
        items.append(
            (
                obj[7],
                obj[8],
                object_ids[obj[2]],
                f"bag-{n:08d}.tar",
                obj[10],
                f"aptrust.receiving.{institution_identifier(inst_n)}",
                member_email(inst_n),
                "Bench work item",
                action,
                stage,
                status,
                "Bench outcome",
                obj[7],
                obj[8],
                True,
                0,
                False,
                obj[6],
                obj[17],
            )
        )
    bulk_insert.insert(W, ITEM_FIELDS, items)


def _analyze() -> None:
    if is_postgres():
        conn = database.connection()
        autocommit = conn.autocommit
        conn.autocommit = True
        try:
            conn.execute("VACUUM ANALYZE")
        finally:
            conn.autocommit = autocommit
    else:
        database.execute_sql("ANALYZE")
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def ensure(url: str, ds: DataSet, *, progress=print) -> float | None:
    """Make sure `url` holds exactly `ds`, generating it if not: the seconds that took, or None
    when the data set was there already."""
    from bench.databases import backend_name, ensure_postgres_database

    if backend_name(url) == "postgresql":
        ensure_postgres_database(url)
    init_database(url, pool_size=2)
    database.connect(reuse_if_open=True)
    try:
        if is_generated(ds):
            from models.storage.migrations import migrate

            applied = migrate()  # a data set generated before a new migration gets it too
            if applied:
                _analyze()
            progress(
                f"data set ready: {ds.spec} ({url})"
                + (f"; applied migration(s) {applied}" if applied else "")
            )
            return None
        progress(f"generating {ds.spec} into {url}")
        seconds = generate(ds, progress=progress)
        progress(f"generated in {seconds:.1f} s")
        return seconds
    finally:
        database.close()
        if hasattr(database.obj, "close_all"):
            database.obj.close_all()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.generate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--objects", type=int, required=True)
    parser.add_argument("--files-per-object", type=int, default=3)
    parser.add_argument("--institutions", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--database-url",
        default=None,
        help="where to load (default: derived from DATABASE_URL and the size)",
    )
    args = parser.parse_args(argv)
    from bench.databases import scaled_url

    ds = DataSet(args.objects, args.files_per_object, args.institutions, args.seed)
    url = args.database_url or scaled_url(
        os.environ.get("DATABASE_URL") or "sqlite:///", ds.objects, ds.files_per_object
    )
    ensure(url, ds, progress=lambda m: print(m, file=sys.stderr))
    print(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
