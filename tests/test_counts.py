"""The count tallies (models/storage/counts.py) equal COUNT(*) after any writes, and lists use them.

The invariant is checked over the whole session database (every test before this one wrote
through the same triggers): for each counted table, the tally summed over its stripes equals
`COUNT(*) ... GROUP BY` its dimensions. Writes come from the admin API (single and batch
creates, updates, the deletion flow) and, drawn by Hypothesis, straight from the models:
single-row and bulk inserts (COPY on PostgreSQL), multi-row updates of dimensions (state,
institution, action, status) and deletes, in one transaction or several.
"""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.caller import Caller
from models.file_views import FILES
from models.generic_file import GenericFile
from models.intellectual_object import OBJECTS, IntellectualObject
from models.premis_event import EVENTS, PremisEvent
from models.storage import bulk_insert
from models.storage.base import utcnow
from models.storage.counts import COUNT_TABLES, STRIPES
from models.storage.db import connection, database
from models.work_item import ITEMS, WorkItem
from tests.deletion_setup import approve_deletion
from tests.listing_rows import Scratch, counting_sql

ADMIN = "/admin-api/v3"
MEMBER = "/member-api/v3"


def mismatches() -> list:
    """Every (table, dimension values, tally, COUNT(*)) where the two differ."""
    found = []
    with connection():
        for tally in COUNT_TABLES:
            dims = ", ".join(f'"{d}"' for d in tally.dimensions)
            kept = dict(_grouped(f'SELECT {dims}, SUM("n") FROM "{tally.name}" GROUP BY {dims}'))
            exact = dict(_grouped(f'SELECT {dims}, COUNT(*) FROM "{tally.table}" GROUP BY {dims}'))
            for key in set(kept) | set(exact):
                if kept.get(key, 0) != exact.get(key, 0):
                    found.append((tally.table, key, kept.get(key), exact.get(key)))
    return found


def _grouped(sql: str):
    return ((tuple(row[:-1]), int(row[-1])) for row in database.execute_sql(sql).fetchall())


def test_tallies_equal_counts_after_admin_writes(client, world):
    headers = world["sysadmin"].headers
    with Scratch() as scratch:
        with connection(), database.atomic():
            member = scratch.member()
            other = scratch.institution()
        inst = member.id
        objects = []
        for n in range(2):
            made = client.post(
                f"{ADMIN}/objects/create/{inst}",
                headers=headers,
                json={"title": "tally", "identifier": f"{member.institution.identifier}/bag-{n}"},
            )
            assert made.status_code == 201, made.text
            objects.append(made.json())
        obj = objects[0]
        batch = [_file_body(obj, f"data/{n}.txt") for n in range(25)]
        response = client.post(f"{ADMIN}/files/create_batch/{inst}", headers=headers, json=batch)
        assert response.status_code == 201, response.text
        single = client.post(
            f"{ADMIN}/files/create/{inst}", headers=headers, json=_file_body(obj, "data/single.txt")
        )
        assert single.status_code == 201, single.text
        for outcome in ("Success", "Failure"):
            event = client.post(
                f"{ADMIN}/events/create",
                headers=headers,
                json={
                    **_event_body("fixity check", outcome),
                    "institution_id": inst,
                    "intellectual_object_id": obj["id"],
                    "generic_file_id": single.json()["id"],
                },
            )
            assert event.status_code == 201, event.text
        item = client.post(f"{ADMIN}/items/create/{inst}", headers=headers, json=_item_body())
        assert item.status_code == 201, item.text
        item = item.json()
        update = {k: item[k] for k in ("bucket", "user", "bag_date", "date_processed")}
        moved = client.put(
            f"{ADMIN}/items/update/{item['id']}",
            headers=headers,
            json={**update, "stage": "Cleanup", "status": "Success"},
        )
        assert moved.status_code == 200, moved.text
        assert mismatches() == []

        # The deletion flow: a file, then (its files deleted) the whole object.
        approve_deletion(obj["id"], single.json()["id"])
        deleted = client.delete(f"{ADMIN}/files/delete/{single.json()['id']}", headers=headers)
        assert deleted.status_code == 200, deleted.text
        assert mismatches() == []
        with connection():
            GenericFile.update(state="D").where(
                GenericFile.intellectual_object == obj["id"]
            ).execute()
        approve_deletion(obj["id"])
        deleted = client.delete(f"{ADMIN}/objects/delete/{obj['id']}", headers=headers)
        assert deleted.status_code == 200, deleted.text

        # Moves between institutions, and hard deletes.
        with connection(), database.atomic():
            IntellectualObject.update(institution=other).where(
                IntellectualObject.id == objects[1]["id"]
            ).execute()
            WorkItem.delete().where(WorkItem.id == item["id"]).execute()
        assert mismatches() == []

        # What a member's lists answer, tally or COUNT(*), is the exact count.
        for path, params, model, where in [
            ("objects", {"state": "D"}, IntellectualObject, IntellectualObject.state == "D"),
            ("files", {"state": "D"}, GenericFile, GenericFile.state == "D"),
            ("files", {"state": "A"}, GenericFile, GenericFile.state == "A"),
            ("files", {"size__gteq": 1}, GenericFile, GenericFile.size >= 1),
            (
                "events",
                {"event_type": "fixity check", "outcome": "Failure"},
                PremisEvent,
                (PremisEvent.event_type == "fixity check") & (PremisEvent.outcome == "Failure"),
            ),
            ("items", {"action": "Delete"}, WorkItem, WorkItem.action == "Delete"),
        ]:
            listed = client.get(f"{MEMBER}/{path}", headers=member.headers, params=params)
            assert listed.status_code == 200, listed.text
            with connection():
                exact = model.select().where(where & (model.institution == inst)).count()
            assert listed.json()["count"] == exact, (path, params)
    assert mismatches() == []


def _file_body(obj: dict, path: str) -> dict:
    return {
        "identifier": f"{obj['identifier']}/{path}",
        "intellectual_object_id": obj["id"],
        "file_format": "text/plain",
        "size": 10,
        "uuid": str(uuid.uuid4()),
        "premis_events": [_event_body("ingestion", "Success")],
    }


def _event_body(event_type: str, outcome: str) -> dict:
    return {
        "identifier": str(uuid.uuid4()),
        "event_type": event_type,
        "date_time": "2024-05-01T12:00:00Z",
        "outcome": outcome,
        "agent": "tally tests",
        "detail": "d",
        "object": "o",
        "outcome_detail": "ok",
        "outcome_information": "i",
    }


def _item_body() -> dict:
    return {
        "name": f"bag-{uuid.uuid4().hex[:12]}.tar",
        "etag": "0" * 32,
        "bucket": "aptrust.receiving.example.edu",
        "user": "user@example.edu",
        "action": "Ingest",
        "stage": "Receive",
        "status": "Pending",
        "bag_date": "2024-05-01T10:00:00Z",
        "date_processed": "2024-05-02T11:30:00Z",
    }


# -- drawn writes through the models -----------------------------------------------------------

# Per table: its model, its dimensions besides the institution, and the values they take.
TABLES = {
    "objects": (IntellectualObject, {"state": ("A", "D")}),
    "files": (GenericFile, {"state": ("A", "D")}),
    "events": (
        PremisEvent,
        {"event_type": ("ingestion", "fixity check"), "outcome": ("Success", "Failure")},
    ),
    "items": (WorkItem, {"action": ("Ingest", "Fixity Check"), "status": ("Pending", "Success")}),
}


@st.composite
def dimension_values(draw, table: str) -> dict:
    _, dims = TABLES[table]
    return {name: draw(st.sampled_from(values)) for name, values in dims.items()}


@st.composite
def write(draw):
    table = draw(st.sampled_from(sorted(TABLES)))
    kind = draw(st.sampled_from(["insert", "insert", "bulk", "update", "move", "delete"]))
    return (
        kind,
        table,
        draw(st.integers(0, 1)),
        draw(dimension_values(table)),
        draw(dimension_values(table)),
        draw(st.integers(1, 40)),
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(writes=st.lists(write(), max_size=12), one_transaction=st.booleans())
def test_tallies_equal_counts_after_drawn_writes(client, writes, one_transaction):
    with Scratch() as scratch:
        with connection(), database.atomic():
            institutions = [scratch.institution(), scratch.institution()]
            bases = [
                IntellectualObject.create(
                    title="base", identifier=f"{i.identifier}/base", bag_name="base", institution=i
                )
                for i in institutions
            ]
        with connection():
            if one_transaction:
                with database.atomic():
                    for step in writes:
                        _apply(step, institutions, bases)
            else:
                for step in writes:
                    with database.atomic():
                        _apply(step, institutions, bases)
        assert mismatches() == []
        _assert_lists_count_exactly(institutions)
    assert mismatches() == []


def _apply(step, institutions, bases) -> None:
    kind, table, which, values, new_values, k = step
    model, _ = TABLES[table]
    institution = institutions[which]
    ids = [i.id for i in institutions]
    if kind in ("insert", "bulk"):
        # Every column, the models' defaults included (COPY applies none).
        rows = [model(**_row(table, institution, bases[which], values)).__data__ for _ in range(k)]
        if kind == "bulk":
            fields = [model._meta.fields[name] for name in rows[0]]
            bulk_insert.insert(model, fields, [tuple(r.values()) for r in rows])
        else:
            for row in rows[:3]:
                model.insert(**row).execute()
        return
    matching = [getattr(model, name) == value for name, value in values.items()]
    where = model.institution.in_(ids)
    for condition in matching:
        where &= condition
    if table == "objects":  # the base objects are the parents of the other rows
        where &= model.id.not_in([b.id for b in bases])
    if kind == "update":
        model.update(**new_values, updated_at=utcnow()).where(where).execute()
    elif kind == "move":
        model.update(institution=institutions[1 - which]).where(where).execute()
    else:
        model.delete().where(where).execute()


def _row(table: str, institution, base, values: dict) -> dict:
    key = uuid.uuid4().hex
    now = utcnow()
    common = {"institution": institution.id, "created_at": now, "updated_at": now, **values}
    if table == "objects":
        return {
            "title": "t",
            "identifier": f"{institution.identifier}/{key}",
            "bag_name": key,
            **common,
        }
    if table == "files":
        return {
            "file_format": "text/plain",
            "identifier": f"{base.identifier}/data/{key}",
            "intellectual_object": base.id,
            "uuid": str(uuid.uuid4()),
            **common,
        }
    if table == "events":
        return {
            "identifier": str(uuid.uuid4()),
            "date_time": now,
            "intellectual_object": base.id,
            **common,
        }
    return {
        "name": key,
        "etag": "0" * 32,
        "bucket": "b",
        "user": "u",
        "stage": "Receive",
        "bag_date": now,
        "date_processed": now,
        **common,
    }


def _assert_lists_count_exactly(institutions) -> None:
    """Each list's count, by tally or by COUNT(*), for a member and a sysadmin."""
    for listing, (model, dims) in zip(
        (OBJECTS, FILES, EVENTS, ITEMS), TABLES.values(), strict=True
    ):
        for institution in institutions:
            member = Caller(0, "m@example.org", "institutional_user", institution.id)
            for name, values in dims.items():
                for value in values:
                    page = listing.list(member, {name: value, "per_page": 1})
                    with connection():
                        exact = (
                            model.select()
                            .where(
                                (model.institution == institution.id)
                                & (getattr(model, name) == value)
                            )
                            .count()
                        )
                    assert page.count == exact, (listing.name, name, value)
        admin = Caller(0, "a@example.org", "admin", institutions[0].id)
        name, values = next(iter(dims.items()))
        page = listing.list(
            admin, {name: values[0], "institution_id": institutions[1].id, "per_page": 1}
        )
        everything = listing.list(admin, {"per_page": 1})
        with connection():
            exact = (
                model.select()
                .where(
                    (model.institution == institutions[1].id) & (getattr(model, name) == values[0])
                )
                .count()
            )
            total = model.select().count()
        assert (page.count, everything.count) == (exact, total), listing.name


def test_migration_fills_the_tallies_from_existing_rows(client):
    """An existing database (a benchmark's million objects) gets exact tallies on upgrade.

    Run in a transaction that is rolled back (DDL is transactional on both backends): the
    tallies are dropped, rows written without them, and migration 5's step run again."""
    from models.storage.migrations import MIGRATIONS

    migration_5 = {version: step for version, _name, step in MIGRATIONS}[5]

    with Scratch() as scratch, connection():
        with database.atomic() as transaction:
            institution = scratch.institution()
            base = IntellectualObject.create(
                title="base",
                identifier=f"{institution.identifier}/b",
                bag_name="b",
                institution=institution,
            )
            for tally in COUNT_TABLES:
                tally.uninstall()
            for table, (model, dims) in TABLES.items():
                for values in (
                    {n: v[0] for n, v in dims.items()},
                    {n: v[-1] for n, v in dims.items()},
                ):
                    for _ in range(3):
                        model.insert(
                            **model(**_row(table, institution, base, values)).__data__
                        ).execute()
            migration_5()
            assert mismatches() == []
            transaction.rollback()
    assert mismatches() == []


def test_lists_fall_back_to_count_star_outside_the_dimensions(client, count_queries):
    member = Caller(0, "m@example.org", "institutional_user", 1)
    for listing, params, tallied in [
        (ITEMS, {"action": "Ingest", "status": "Success"}, True),
        (ITEMS, {"status__in": ["Success", "Failed"]}, True),
        (ITEMS, {"action": "Ingest", "stage": "Receive"}, False),
        (OBJECTS, {}, True),
        (OBJECTS, {"identifier__starts_with": "x"}, False),
        (FILES, {"state": "A", "intellectual_object_id": 1}, False),
        (EVENTS, {"outcome": "Success"}, True),
        (EVENTS, {"date_time__gteq": "2024-01-01T00:00:00Z"}, False),
    ]:
        count_queries.statements.clear()
        listing.list(member, {**params, "per_page": 1})
        sql = counting_sql(count_queries.statements[0][0])
        assert ('_counts"' in sql) is tallied, (listing.name, params, sql)
        assert sql.startswith("SELECT COUNT(*)") is not tallied


@pytest.mark.parametrize("tally", COUNT_TABLES, ids=lambda t: t.table)
def test_every_tally_has_its_triggers(client, backend, tally):
    """Installed by migration 5: one trigger per kind of write (and TRUNCATE on PostgreSQL)."""
    with connection():
        if backend == "sqlite":
            names = {
                r[0]
                for r in database.execute_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
                    [tally.table],
                )
            }
        else:
            names = {
                r[0]
                for r in database.execute_sql(
                    "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass "
                    "AND NOT tgisinternal",
                    [tally.table],
                )
            }
    events = ("insert", "update", "delete") + (("truncate",) if backend == "postgres" else ())
    assert names == {f"{tally.name}_{event}" for event in events}


def test_concurrent_writers_wait_only_when_their_stripes_collide(client, backend):
    """PostgreSQL: a writer holds the tally rows it changed until it commits. Two writers of
    the same institution and state do not wait for each other unless their transaction ids fall
    on the same stripe; when they do, the second waits (here: gives up after 0.5 s)."""
    if backend != "postgres":
        pytest.skip("SQLite has one writer at a time")
    import psycopg

    from tests.postgres import PG_URL

    with Scratch() as scratch:
        with connection(), database.atomic():
            institution = scratch.institution()
            base = IntellectualObject.create(
                title="base",
                identifier=f"{institution.identifier}/b",
                bag_name="b",
                institution=institution,
            )
        insert = (
            "INSERT INTO generic_files (file_format, size, identifier, "
            "intellectual_object_id, created_at, updated_at, state, last_fixity_check, "
            "institution_id, storage_option, uuid) SELECT 'x', 1, %s || g, %s, now(), "
            "now(), 'A', now(), %s, 'Standard', md5(%s || g) "
            "FROM generate_series(1, 50) AS g"
        )

        def write(conn, tag):
            conn.execute(
                insert,
                (f"{base.identifier}/{tag}/", base.id, institution.id, f"{tag}-{uuid.uuid4()}-"),
            )

        def stripe(conn):
            return conn.execute("SELECT mod(txid_current(), %s)", (STRIPES,)).fetchone()[0]

        with psycopg.connect(PG_URL) as a, psycopg.connect(PG_URL) as b:
            b.execute("SET lock_timeout = '500ms'")
            b.commit()
            for same in (False, True):
                mine = stripe(a)
                while (stripe(b) == mine) is not same:
                    b.rollback()
                write(a, "a")
                if same:
                    with pytest.raises(psycopg.errors.LockNotAvailable):
                        write(b, "b")
                else:
                    write(b, "b")
                a.rollback()
                b.rollback()
    assert mismatches() == []
