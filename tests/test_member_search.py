"""Member search: `__contains` on object titles and identifiers and on file identifiers (issue
17, item 6).

The value is literal (`%`, `_` and `\\` are plain characters), the letters A to Z match in
either case (as the columns' LOWER() folds them on both backends: PostgreSQL's columns are
`COLLATE "C"`), and a member sees only their institution's rows. A NUL or an over-long value
answers no 500. On PostgreSQL the search reads the pg_trgm GIN index of `lower(column)` made by
migration 7, checked on the statement the list engine runs over 20,000 rows; SQLite has no such
index and scans the institution's rows (README, "Search").
"""

from __future__ import annotations

import hashlib

import pytest

from models.caller import Caller
from models.file_views import FILES
from models.generic_file import GenericFile
from models.intellectual_object import OBJECTS, IntellectualObject
from models.storage.db import connection, database
from tests.fixtures_api import assert_problem, error_names
from tests.list_oracle import Condition, answer
from tests.listing_rows import Scratch

OBJECTS_PATH, FILES_PATH = "/member-api/v3/objects", "/member-api/v3/files"

# Titles, alternate identifiers, bag groups and bag names chosen so that a wildcard reading of
# `%`, `_` or `\` would match more than the literal reading does.
DRAFTS = [
    ("Annual Report 100% Final", "ALT-100%", "Group_A", "report-100"),
    ("report_2024", "alt_2024", "groupXA", "report_2024"),
    ("reportX2024", "altX2024", "group%A", "reportx2024"),
    ("C:\\temp\\Report", "alt\\one", "group\\a", "backslash"),
    ("École Ünïon", "ÉCOLE", "Ünïon", "ecole"),
    ("other", None, None, "other"),
]
SEARCHES = [
    "report",
    "REPORT",
    "100%",
    "0%",
    "%",
    "_",
    "t_2",
    "\\",
    "\\t",
    "p\\R",
    "École",
    "école",
    "ÉCOLE",
    "cole",
    "COLE",
    "Ünïon",
    "ünïon",
    "nothing like it",
    "a",
]


def _objects(scratch: Scratch):
    """The drafts in a member's institution and, identically titled, in a neighbour's."""
    neighbour = scratch.institution()
    member = scratch.member()
    rows = []
    for institution in (member.institution, neighbour):
        for n, (title, alt, group, bag) in enumerate(DRAFTS):
            identifier = f"{institution.identifier}/{bag}-{n}"
            obj = IntellectualObject.create(
                identifier=identifier,
                title=title,
                alt_identifier=alt,
                bag_group_identifier=group,
                bag_name=bag,
                institution=institution,
            )
            gf = GenericFile.create(
                identifier=f"{identifier}/data/{title}.txt",
                intellectual_object=obj,
                institution=institution,
                size=1,
                file_format="text/plain",
                uuid=f"{obj.id:08x}-0000-4000-8000-{n:012x}",
            )
            rows.append(
                {
                    "id": obj.id,
                    "file_id": gf.id,
                    "file_identifier": gf.identifier,
                    "institution_id": institution.id,
                    "title": title,
                    "identifier": identifier,
                    "alt_identifier": alt,
                    "bag_group_identifier": group,
                }
            )
    return member, neighbour, rows


@pytest.fixture
def searched(client):
    with Scratch() as scratch:
        with connection(), database.atomic():
            member, neighbour, rows = _objects(scratch)
        yield member, neighbour, rows


@pytest.mark.parametrize(
    "field", ["title", "identifier", "alt_identifier", "bag_group_identifier", "file_identifier"]
)
def test_contains_is_literal_any_case_for_a_to_z_and_scoped(client, searched, field):
    member, _, rows = searched
    mine = [r for r in rows if r["institution_id"] == member.id]
    path, param, id_key = (
        (FILES_PATH, "identifier__contains", "file_id")
        if field == "file_identifier"
        else (OBJECTS_PATH, f"{field}__contains", "id")
    )
    oracle_rows = [{**r, "id": r[id_key], field: r[field]} for r in mine]
    for value in SEARCHES:
        response = client.get(path, params={param: value, "per_page": 100}, headers=member.headers)
        assert response.status_code == 200, (value, response.text)
        body = response.json()
        conditions = [Condition(f"{field}__contains", value)]
        count, expected = answer(oracle_rows, conditions, [], 1, 100, default=[("id", "asc")])
        assert body["count"] == count, value
        assert sorted(r["id"] for r in body["results"]) == sorted(r["id"] for r in expected), value
        assert {r["institution_id"] for r in body["results"]} <= {member.id}


def test_the_literal_reading_pins_the_examples(client, searched):
    """What the oracle says, written out for the characters a LIKE would misread."""
    member, _, rows = searched
    titles = {r["id"]: r["title"] for r in rows}

    def found(value: str) -> list[str]:
        response = client.get(
            OBJECTS_PATH, params={"title__contains": value}, headers=member.headers
        )
        assert response.status_code == 200, response.text
        return sorted(titles[r["id"]] for r in response.json()["results"])

    assert found("REPORT") == sorted(
        ["Annual Report 100% Final", "report_2024", "reportX2024", "C:\\temp\\Report"]
    )
    assert found("t_2") == ["report_2024"]  # `_` is no single-character wildcard
    assert found("0%") == ["Annual Report 100% Final"]  # `%` is no wildcard
    assert found("p\\R") == ["C:\\temp\\Report"]  # `\` is no escape
    assert found("École Ünïon") == ["École Ünïon"]  # the stored text always finds itself
    assert found("ÉCOLE") == ["École Ünïon"]  # É is not folded: only A to Z are
    assert found("école") == []


def test_a_sysadmin_searches_every_institution(client, world, searched):
    member, neighbour, _ = searched
    response = client.get(
        "/admin-api/v3/objects",
        params={"title__contains": "t_2", "per_page": 1000},
        headers=world["sysadmin"].headers,
    )
    assert response.status_code == 200, response.text
    assert {member.id, neighbour.id} <= {r["institution_id"] for r in response.json()["results"]}


@pytest.mark.parametrize(
    "path, param",
    [
        (OBJECTS_PATH, "title__contains"),
        (OBJECTS_PATH, "identifier__contains"),
        (OBJECTS_PATH, "alt_identifier__contains"),
        (OBJECTS_PATH, "bag_group_identifier__contains"),
        (FILES_PATH, "identifier__contains"),
    ],
)
def test_nul_and_over_long_values_are_no_500(client, world, path, param):
    headers = world["inst_user"].headers
    # NUL: no stored text holds one, so nothing matches (PostgreSQL would refuse it as a value).
    response = client.get(path, params={param: "a\x00b"}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["count"] == 0
    # The longest value the spec allows, then one character more: a 400 naming the parameter.
    response = client.get(path, params={param: "x" * 2000}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["count"] == 0
    response = client.get(path, params={param: "x" * 2001}, headers=headers)
    assert param in error_names(assert_problem(response, 400))


# -- the trigram index serves the search on PostgreSQL -----------------------------------------

SEARCH_ROWS = 20000
TRIGRAM_INDEXES = {
    "intellectual_objects": ("title", "identifier", "alt_identifier", "bag_group_identifier"),
    "generic_files": ("identifier",),
}


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _bulk_objects(institution_id: int) -> None:
    """SEARCH_ROWS objects (and a file each) whose titles and identifiers hold md5 digests of
    their number: a piece of one's matches that row only."""
    database.execute_sql(
        'INSERT INTO "intellectual_objects" ("title", "identifier", "alt_identifier", '
        '"access", "bag_name", "institution_id", "created_at", "updated_at", "state", '
        '"bag_group_identifier", "storage_option", "bagit_profile_identifier", "file_count", '
        '"size", "payload_file_count", "payload_size") '
        "SELECT 'Title ' || md5(n::text), 'trgm.test/' || md5('i' || n::text), "
        "'alt-' || md5('a' || n::text), 'institution', 'bag' || n, %s, now(), now(), 'A', "
        "'group-' || md5('g' || n::text), 'Standard', 'p', 0, 0, 0, 0 "
        "FROM generate_series(1, %s) AS n",
        (institution_id, SEARCH_ROWS),
    )
    database.execute_sql(
        'INSERT INTO "generic_files" ("file_format", "size", "identifier", '
        '"intellectual_object_id", "created_at", "updated_at", "state", "last_fixity_check", '
        '"institution_id", "storage_option", "uuid") '
        "SELECT 'text/plain', 1, o.identifier || '/data/' || md5('f' || o.bag_name), o.id, "
        "now(), now(), 'A', now(), o.institution_id, 'Standard', md5('u' || o.bag_name) "
        'FROM "intellectual_objects" o WHERE o.institution_id = %s',
        (institution_id,),
    )
    # The new entries wait in each GIN index's pending list (fastupdate), which the planner
    # costs as a scan of its own; a table written long ago has them in the index proper.
    for table, columns in TRIGRAM_INDEXES.items():
        for column in columns:
            database.execute_sql(
                "SELECT gin_clean_pending_list(%s::regclass)",
                (f"idx_{table}__lower_{column}__trgm",),
            )
    database.execute_sql('ANALYZE "intellectual_objects"')
    database.execute_sql('ANALYZE "generic_files"')


@pytest.mark.parametrize(
    "listing, param, value, column",
    [
        # Pieces of the digests in the values of row 7, some in upper case. Not the words every
        # row shares ("Title ", "/data/"): a trigram of every row is no use to an index, and
        # the planner rightly prefers to scan when the value is mostly such trigrams.
        (OBJECTS, "title__contains", _md5("7")[:10].upper(), "title"),
        (OBJECTS, "identifier__contains", _md5("i7")[2:12], "identifier"),
        (OBJECTS, "alt_identifier__contains", _md5("a7")[3:15].upper(), "alt_identifier"),
        (OBJECTS, "bag_group_identifier__contains", _md5("g7")[:8], "bag_group_identifier"),
        (FILES, "identifier__contains", _md5("fbag7")[:9].upper(), "identifier"),
    ],
    ids=["title", "identifier", "alt_identifier", "bag_group_identifier", "file_identifier"],
)
def test_postgres_search_reads_the_trigram_index(
    client, backend, count_queries, listing, param, value, column
):
    if backend != "postgres":
        pytest.skip("SQLite has no trigram index: the search scans the institution's rows")
    with Scratch() as scratch:
        with connection():
            institution = scratch.institution()
            with database.atomic() as transaction:
                _bulk_objects(institution.id)
                member = Caller(0, "m@example.org", "institutional_user", institution.id)
                count_queries.statements.clear()
                page = listing.list(member, {param: value})
                statements = [
                    s
                    for s in count_queries.statements
                    if isinstance(s, tuple) and s[0].startswith("SELECT")
                ]
                plan = "\n".join(
                    row[0]
                    for sql, params in statements
                    for row in database.execute_sql("EXPLAIN " + sql, params).fetchall()
                )
                transaction.rollback()
    assert page.count == 1, (param, value)
    table = "generic_files" if listing is FILES else "intellectual_objects"
    index = f"idx_{table}__lower_{column}__trgm"
    assert f"Bitmap Index Scan on {index}" in plan, plan
    assert f"Seq Scan on {table}" not in plan, plan
