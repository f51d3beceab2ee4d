"""Change polling: `created_at` / `updated_at` bounds on the lists (issue 17, item 3).

A script asks "what changed since T" (`updated_at__gteq=T`, newest first) and "what was created
in [T1, T2]". The bounds are inclusive, a member sees only their institution's rows whatever the
bounds, and the answer is tests/list_oracle.py's. On both backends the polling shape of a
scoped member (`institution_id = ? AND x >= ? ORDER BY x DESC, id DESC LIMIT 20`) is a range
scan of an (institution_id, x, id) index (migration 7 added those no earlier migration had):
checked here on the statement the list engine actually runs, over enough rows (PostgreSQL)
that a sequential scan would be the planner's choice if the index did not serve.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from models.caller import Caller
from models.checksum import CHECKSUMS, Checksum
from models.generic_file import GenericFile
from models.institution import INSTITUTIONS, Institution
from models.intellectual_object import IntellectualObject
from models.premis_event import EVENTS, PremisEvent
from models.storage.db import connection, database
from models.user import USERS, User
from models.work_item import ITEMS, WorkItem
from tests.fixtures_api import assert_problem, error_names
from tests.list_oracle import Condition, answer
from tests.listing_rows import Scratch

T0 = dt.datetime(2024, 1, 2, 9, 0)
MICRO = dt.timedelta(microseconds=1)
# Instants around T0 a microsecond apart, and two far from it: each a row of the member's
# and one of the neighbour's.
TIMES = [T0 - MICRO, T0, T0 + MICRO, dt.datetime(2024, 6, 30, 23, 59, 59, 999999)]
# The other timestamp column runs the other way, so a filter on the wrong column shows.
OTHER = list(reversed(TIMES))

PATHS = {
    "items": "/member-api/v3/items",
    "checksums": "/member-api/v3/checksums",
    "events": "/member-api/v3/events",
}


def rfc3339(instant: dt.datetime) -> str:
    return instant.isoformat(timespec="microseconds") + "Z"


def _object(institution, n: int) -> IntellectualObject:
    return IntellectualObject.create(
        identifier=f"{institution.identifier}/poll-{n}",
        title="polled",
        bag_name=f"poll-{n}",
        institution=institution,
    )


def _file(obj: IntellectualObject, n: int) -> GenericFile:
    return GenericFile.create(
        identifier=f"{obj.identifier}/data/f{n}",
        intellectual_object=obj,
        institution=obj.institution_id,
        size=1,
        file_format="text/plain",
        uuid=f"{obj.id:08x}-0000-4000-8000-{n:012x}",
    )


def insert(kind: str, institution, field: str) -> list[dict]:
    """One row of `kind` per instant of TIMES in `institution`, `field` set to it (the other
    timestamp column to OTHER's); returns {id, institution_id, created_at, updated_at}."""
    other = "updated_at" if field == "created_at" else "created_at"
    obj = _object(institution, 0)
    gf = _file(obj, 0)
    rows = []
    for n, (when, then) in enumerate(zip(TIMES, OTHER, strict=True)):
        stamps = {field: when, other: then}
        if kind == "items":
            made = WorkItem.create(
                intellectual_object=obj,
                institution=institution,
                name=f"poll-{n}.tar",
                etag=f"{n:032x}",
                bucket="aptrust.receiving.poll",
                user="user@example.edu",
                action="Ingest",
                stage="Receive",
                status="Pending",
                bag_date=T0,
                date_processed=T0,
                **stamps,
            )
        elif kind == "checksums":
            made = Checksum.create(
                algorithm="sha256",
                datetime=T0,
                digest=f"{n:064x}",
                generic_file=gf,
                institution=institution,
                **stamps,
            )
        else:
            made = PremisEvent.create(
                identifier=f"{obj.id:08x}-0000-4000-9000-{n:012x}",
                event_type="ingestion",
                date_time=T0,
                outcome="Success",
                intellectual_object=obj,
                generic_file=gf,
                institution=institution,
                **stamps,
            )
        rows.append({"id": made.id, "institution_id": institution.id, **stamps})
    return rows


@pytest.mark.parametrize("field", ["created_at", "updated_at"])
@pytest.mark.parametrize("kind", sorted(PATHS))
def test_bounds_are_inclusive_and_a_member_sees_only_their_rows(client, kind, field):
    with Scratch() as scratch:
        with connection(), database.atomic():
            neighbour = scratch.institution()
            member = scratch.member()
            mine = insert(kind, member.institution, field)
            insert(kind, neighbour, field)
        # Each bound exactly at a row's instant, a microsecond off, and both together.
        for params in [
            {f"{field}__gteq": rfc3339(T0)},
            {f"{field}__gteq": rfc3339(T0 + MICRO), "sort": f"{field}__asc"},
            {f"{field}__lteq": rfc3339(T0)},
            {f"{field}__lteq": rfc3339(T0 - MICRO), "sort": f"{field}__desc"},
            {f"{field}__gteq": rfc3339(T0), f"{field}__lteq": rfc3339(T0 + MICRO)},
            {f"{field}__gteq": "2024-01-02T10:00:00+01:00"},  # T0 in another offset
            {f"{field}__gteq": rfc3339(TIMES[-1] + MICRO)},
        ]:
            response = client.get(PATHS[kind], params=params, headers=member.headers)
            assert response.status_code == 200, (params, response.text)
            body = response.json()
            conditions = [
                Condition(name, _instant(value)) for name, value in params.items() if name != "sort"
            ]
            sort = [tuple(params["sort"].rsplit("__", 1))] if "sort" in params else []
            count, expected = answer(mine, conditions, sort, 1, 20, default=[(field, "desc")])
            assert body["count"] == count, params
            got = [r["id"] for r in body["results"]]
            if sort:
                assert got == [r["id"] for r in expected], params
            else:  # the resource's own default order: compare the set
                assert sorted(got) == sorted(r["id"] for r in expected), params
            assert {r["institution_id"] for r in body["results"]} <= {member.id}


def _instant(text: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed.astimezone(dt.UTC).replace(tzinfo=None)


def test_poll_work_items_changed_since(client):
    """The README's example: the member's items updated since T, newest first, the row
    updated exactly at T included."""
    with Scratch() as scratch:
        with connection(), database.atomic():
            neighbour = scratch.institution()
            member = scratch.member()
            mine = insert("items", member.institution, "updated_at")
            insert("items", neighbour, "updated_at")
        response = client.get(
            PATHS["items"],
            params={"updated_at__gteq": rfc3339(T0), "sort": "updated_at__desc"},
            headers=member.headers,
        )
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert [r["id"] for r in results] == [mine[3]["id"], mine[2]["id"], mine[1]["id"]]
        assert results[-1]["updated_at"] == rfc3339(T0).replace(".000000Z", "Z")


@pytest.mark.parametrize(
    "path, name",
    [
        ("/member-api/v3/items", "created_at__gteq"),
        ("/member-api/v3/items", "updated_at__lteq"),
        ("/member-api/v3/checksums", "updated_at__gteq"),
        ("/member-api/v3/events", "created_at__lteq"),
        ("/admin-api/v3/institutions", "updated_at__gteq"),
        ("/admin-api/v3/users", "created_at__lteq"),
    ],
)
def test_a_bound_that_is_no_date_time_is_a_400_naming_it(client, world, path, name):
    headers = world["sysadmin"].headers if "admin-api" in path else world["inst_user"].headers
    response = client.get(path, params={name: "yesterday"}, headers=headers)
    assert name in error_names(assert_problem(response, 400))


@pytest.mark.parametrize("path", ["/admin-api/v3/institutions", "/admin-api/v3/users"])
def test_admin_lists_of_institutions_and_users_poll_by_updated_at(client, world, path):
    """Sysadmin-only lists: the bounds and the new `updated_at` sort."""
    later = dt.datetime(2035, 1, 1)
    with Scratch() as scratch:
        with connection(), database.atomic():
            a, b = scratch.institution(), scratch.institution()
            for n, institution in enumerate((a, b)):
                stamp = later + dt.timedelta(seconds=n)
                if path.endswith("institutions"):
                    Institution.update(updated_at=stamp, created_at=stamp).where(
                        Institution.id == institution.id
                    ).execute()
                else:
                    User.create(
                        email=f"poll@{institution.identifier}",
                        name="Poller",
                        institution=institution,
                        created_at=stamp,
                        updated_at=stamp,
                    )
        headers = world["sysadmin"].headers
        response = client.get(
            path,
            params={"updated_at__gteq": rfc3339(later), "sort": "updated_at__desc"},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        key = "id" if path.endswith("institutions") else "institution_id"
        assert [r[key] for r in body["results"]] == [b.id, a.id]
        response = client.get(
            path,
            params={"created_at__lteq": rfc3339(later), "created_at__gteq": rfc3339(later)},
            headers=headers,
        )
        assert [r[key] for r in response.json()["results"]] == [a.id]


# -- the index serves the polling shape --------------------------------------------------------

# (listing, table, the index migration 7 made for that column, its column)
POLLED = [
    (ITEMS, "work_items", "idx_work_items__institution_id__created_at__id", "created_at"),
    (ITEMS, "work_items", "idx_work_items__institution_id__updated_at__id", "updated_at"),
    (CHECKSUMS, "checksums", "idx_checksums__institution_id__created_at__id", "created_at"),
    (CHECKSUMS, "checksums", "idx_checksums__institution_id__updated_at__id", "updated_at"),
    (EVENTS, "premis_events", "idx_premis_events__institution_id__created_at__id", "created_at"),
    (EVENTS, "premis_events", "idx_premis_events__institution_id__updated_at__id", "updated_at"),
]
ROWS_PER_INSTITUTION = 6000


def _bulk(backend: str, table: str, institution_ids: list[int], obj_id: int, gf_id: int):
    """ROWS_PER_INSTITUTION rows of `table` per institution, one a minute from 2020, by one
    INSERT ... SELECT (a recursive CTE numbers them: both backends have one)."""
    minute = (
        "datetime('2020-01-01', '+' || n || ' minutes')"
        if backend == "sqlite"
        else "timestamp '2020-01-01' + n * interval '1 minute'"
    )
    per = {
        "work_items": (
            '"created_at", "updated_at", "intellectual_object_id", "name", "etag", "bucket", '
            '"user", "action", "stage", "status", "bag_date", "date_processed", "retry", '
            '"pid", "needs_admin_review", "institution_id", "size"',
            f"{minute}, {minute}, {obj_id}, 'b' || n || '.tar', 'e' || n, 'bucket', 'u@x', "
            f"'Ingest', 'Receive', 'Pending', {minute}, {minute}, false, 0, false, {{i}}, 0",
        ),
        "checksums": (
            '"algorithm", "datetime", "digest", "generic_file_id", "institution_id", '
            '"created_at", "updated_at"',
            f"'md5', {minute}, 'd' || n, {gf_id}, {{i}}, {minute}, {minute}",
        ),
        "premis_events": (
            '"identifier", "event_type", "date_time", "intellectual_object_id", "outcome", '
            '"institution_id", "created_at", "updated_at"',
            f"'{{i}}-' || n, 'ingestion', {minute}, {obj_id}, 'Success', {{i}}, {minute}, {minute}",
        ),
    }[table]
    columns, values = per
    if backend == "sqlite":
        values = values.replace("false", "0")
    for i in institution_ids:
        database.execute_sql(
            f"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s "
            f"WHERE n < {ROWS_PER_INSTITUTION}) "
            f'INSERT INTO "{table}" ({columns}) SELECT {values.format(i=i)} FROM s'
        )
    database.execute_sql(f'ANALYZE "{table}"')


def _plan(backend: str, statement) -> str:
    sql, params = statement
    if backend == "sqlite":
        rows = database.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        return "\n".join(str(row[-1]) for row in rows)
    rows = database.execute_sql("EXPLAIN " + sql, params).fetchall()
    return "\n".join(row[0] for row in rows)


@pytest.mark.parametrize(
    "listing, table, index, column", POLLED, ids=[f"{p[1]}-{p[3]}" for p in POLLED]
)
def test_the_polling_shape_is_a_range_scan_of_the_index(
    client, backend, count_queries, listing, table, index, column
):
    """`institution_id = ? AND x >= ? ORDER BY x DESC, id DESC LIMIT 20` reads the index's
    range: 12,000 rows over two institutions, all rolled back."""
    with Scratch() as scratch:
        with connection():
            a, b = scratch.institution(), scratch.institution()
            obj = _object(a, 0)
            gf = _file(obj, 0)
            with database.atomic() as transaction:
                _bulk(backend, table, [a.id, b.id], obj.id, gf.id)
                member = Caller(0, "m@example.org", "institutional_user", a.id)
                count_queries.statements.clear()
                since = rfc3339(dt.datetime(2020, 1, 4))  # the last ~40 % of the rows
                page = listing.list(member, {f"{column}__gteq": since, "sort": f"{column}__desc"})
                assert page.count == ROWS_PER_INSTITUTION - 3 * 24 * 60 + 1
                assert len(page.rows) == 20
                plans = [
                    _plan(backend, s)
                    for s in count_queries.statements
                    if isinstance(s, tuple) and s[0].startswith(("SELECT", "WITH"))
                ]
                transaction.rollback()
    plan = "\n".join(plans)
    assert index in plan, plan
    if backend == "postgres":
        assert f"Seq Scan on {table}" not in plan, plan
        assert re.search(rf"Index (Only )?Scan (Backward )?using {index}", plan), plan
    else:
        range_scan = (
            rf"SEARCH t1 USING (COVERING )?INDEX {index} \(institution_id=\? AND {column}>\?\)"
        )
        assert re.search(range_scan, plan), plan


def test_sysadmin_only_lists_accept_the_bounds_in_the_engine():
    """Institutions and users are small tables (no index of their own for the bounds); the
    bounds are declared all the same, so an operator's script can poll them too."""
    for listing in (INSTITUTIONS, USERS):
        assert {"created_at__gteq", "created_at__lteq", "updated_at__gteq", "updated_at__lteq"} <= (
            listing.filter_params()
        )
        assert {"updated_at__asc", "updated_at__desc"} <= set(listing.sort_values())
