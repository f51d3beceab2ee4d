"""Lists and shows issue a fixed number of SQL statements, however many rows they return.

A statement per row (an N+1: a digest, a count or an institution looked up for each row)
would pass every functional test and still make a page of 1000 rows take seconds. Each request
is made twice and only the second is counted, so that one-time work (opening a thread's
connection) does not blur the comparison.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from models.checksum import Checksum
from models.generic_file import GenericFile
from models.intellectual_object import IntellectualObject
from models.premis_event import PremisEvent
from models.stats import refresh_object_stats
from models.storage.db import connection, database
from models.storage_record import StorageRecord
from tests.listing_rows import Scratch, counting_sql

# Authentication, the count (COUNT(*) or a tally sum), the page itself; on PostgreSQL the count
# and the page are one statement (models.storage.query.Listing._one_statement).
LIST_STATEMENTS = 3


def statements(client, count_queries, url: str, headers: dict) -> tuple[list, dict]:
    """The statements of the second of two identical requests, and its body."""
    client.get(url, headers=headers)
    count_queries.statements.clear()
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return list(count_queries.statements), response.json()


@pytest.mark.parametrize("path", ["/member-api/v3/objects", "/member-api/v3/files"])
def test_list_statements_do_not_grow_with_the_page(client, world, count_queries, path):
    user = world["inst_user"]
    one, _ = statements(client, count_queries, f"{path}?per_page=1", user.headers)
    many, body = statements(client, count_queries, f"{path}?per_page=200", user.headers)
    assert len(body["results"]) >= 80
    assert len(one) == len(many) <= LIST_STATEMENTS


@pytest.mark.parametrize("path", ["/member-api/v3/objects", "/member-api/v3/files"])
def test_filtered_sorted_list_statements_are_constant(client, world, count_queries, path):
    user = world["inst_user"]
    query = "state=A&sort=size__desc&sort=created_at__asc&created_at__gteq=2024-01-01T00:00:00Z"
    one, _ = statements(client, count_queries, f"{path}?{query}&per_page=1", user.headers)
    many, body = statements(client, count_queries, f"{path}?{query}&per_page=500", user.headers)
    assert len(body["results"]) >= 70
    assert len(one) == len(many) <= LIST_STATEMENTS


@pytest.fixture(scope="module")
def bags(client):
    """A bare object and file, and an object whose file has many checksums, events and copies."""
    when = dt.datetime(2024, 5, 1)
    with Scratch() as scratch:
        with connection(), database.atomic():
            member = scratch.member()
            made = {}
            for name, extras in (("bare", 0), ("busy", 30)):
                obj = IntellectualObject.create(
                    identifier=f"{member.institution.identifier}/{name}",
                    title=name,
                    bag_name=name,
                    institution=member.institution,
                )
                files = [
                    GenericFile.create(
                        identifier=f"{obj.identifier}/data/{n}",
                        intellectual_object=obj,
                        institution=member.institution,
                        file_format="text/plain",
                        uuid=str(uuid.uuid4()),
                    )
                    for n in range(1 + extras)
                ]
                target = files[0]
                for n in range(1 + extras):
                    Checksum.create(
                        algorithm="md5",
                        datetime=when,
                        digest=f"{n:032x}",
                        generic_file=target,
                        institution=member.institution,
                    )
                    PremisEvent.create(
                        identifier=str(uuid.uuid4()),
                        event_type="fixity check",
                        date_time=when,
                        outcome="Success",
                        intellectual_object=obj,
                        generic_file=target,
                        institution=member.institution,
                    )
                    StorageRecord.create(generic_file=target, url=f"https://s.example/{n}")
                made[name] = (obj.id, target.id)
            refresh_object_stats([obj_id for obj_id, _ in made.values()])
        yield member, made


@pytest.mark.parametrize(
    "kind, index, most",
    [
        ("objects", 0, 2),  # authentication, the object (its file totals are stored on it)
        ("files", 1, 5),  # authentication, the file, its checksums, events, storage records
    ],
)
def test_show_statements_do_not_grow_with_related_records(
    client, count_queries, bags, kind, index, most
):
    member, made = bags
    bare_url = f"/member-api/v3/{kind}/show/{made['bare'][index]}"
    busy_url = f"/member-api/v3/{kind}/show/{made['busy'][index]}"
    bare, _ = statements(client, count_queries, bare_url, member.headers)
    busy, body = statements(client, count_queries, busy_url, member.headers)
    assert len(bare) == len(busy) <= most
    if kind == "files":
        assert len(body["checksums"]) == len(body["premis_events"]) == 31
        assert len(body["storage_records"]) == 31
    else:
        assert body["file_count"] == 31


@pytest.mark.parametrize(
    "path, how",
    [
        ("/member-api/v3/objects", "tally"),  # models/storage/counts.py: no COUNT(*) at all
        ("/member-api/v3/objects?state=A", "tally"),
        ("/member-api/v3/items?action=Ingest&status=Success", "tally"),
        ("/member-api/v3/items?action=Ingest&status__in=Success&status__in=Failed", "tally"),
        ("/member-api/v3/events?event_type=ingestion&outcome=Success", "tally"),
        ("/member-api/v3/files?state=D", "tally"),
        (
            "/member-api/v3/objects?identifier__starts_with=example.edu/bag-00&sort=size__desc",
            "count",
        ),
        ("/member-api/v3/files?intellectual_object_id=1", "count"),
        ("/member-api/v3/items?action=Ingest&stage=Receive", "count"),  # stage: no dimension
        ("/member-api/v3/items?object_identifier=example.edu/bag-0001", "joined"),  # joined column
    ],
)
def test_count_joins_only_what_its_conditions_name(client, world, count_queries, path, how):
    """With its view's joins, SQLite's COUNT stepped through every row it counted (38 ms for
    25,000 objects of an institution); without them it counts index entries (1 ms). A list
    filtered only on its tally's dimensions counts no rows: it sums tally rows."""
    found, _ = statements(client, count_queries, path, world["inst_user"].headers)
    found = [counting_sql(sql) for sql, _ in found]
    counts = [sql for sql in found if sql.startswith("SELECT COUNT(*)")]
    tallies = [sql for sql in found if '_counts"' in sql and "SUM(" in sql]
    if how == "tally":
        assert len(tallies) == 1 and not counts
    else:
        assert len(counts) == 1 and not tallies
        assert ("JOIN" in counts[0]) is (how == "joined")
