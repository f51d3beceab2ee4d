"""Paging by cursor (`cursor=*`, then each page's `next`): the same rows in the same order as
paging by number, whatever the sort (NULLs and ties included), nothing repeated or skipped when
rows are written between pages, and every cursor a client could forge answered 400.

The rows live in a throwaway institution: 45 objects whose sort columns are mostly tied (three
`updated_at` values, sizes 0 to 2, `alt_identifier` mostly NULL), so that only the keyset's `id`
keeps pages apart, on both backends.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import zlib
from urllib.parse import parse_qs, urlsplit

import pytest

from models.intellectual_object import IntellectualObject
from models.storage.db import connection, database
from tests.listing_rows import Member, Scratch

OBJECTS = "/member-api/v3/objects"
ROWS = 45
DAY = dt.datetime(2024, 3, 1, 12, 0)


@pytest.fixture(scope="module")
def member(client):
    with Scratch() as scratch:
        with connection(), database.atomic():
            member = scratch.member()
            for n in range(ROWS):
                IntellectualObject.create(
                    identifier=f"{member.institution.identifier}/c{n:02d}",
                    title=f"t{n % 4}",
                    bag_name=f"b{n}",
                    institution=member.institution,
                    updated_at=DAY + dt.timedelta(hours=n % 3, microseconds=n % 2 * 500),
                    size=n % 3,
                    state="D" if n % 4 == 0 else "A",
                    alt_identifier=f"alt{n % 2}" if n % 5 == 0 else None,
                )
        yield member


def get(client, member: Member, url: str, params=None, status: int = 200) -> dict:
    response = client.get(url, params=params, headers=member.headers)
    assert response.status_code == status, response.text
    return response.json()


def walk_by_cursor(client, member, params: list) -> tuple[list[int], list[dict]]:
    bodies = [get(client, member, OBJECTS, params + [("cursor", "*")])]
    while bodies[-1]["next"]:
        assert len(bodies) <= ROWS + 1, "the cursor walk does not end"
        bodies.append(get(client, member, bodies[-1]["next"]))
    return [row["id"] for body in bodies for row in body["results"]], bodies


def walk_by_page(client, member, params: list) -> list[int]:
    ids, page = [], 1
    while True:
        body = get(client, member, OBJECTS, params + [("page", page)])
        ids += [row["id"] for row in body["results"]]
        if not body["next"]:
            return ids
        page += 1


SORTS = [
    [],  # the default: updated_at__desc
    ["updated_at__asc"],
    ["alt_identifier__asc"],  # NULL sorts last
    ["alt_identifier__desc"],  # NULL sorts first
    ["size__asc", "alt_identifier__desc"],
    ["size__desc", "updated_at__asc", "identifier__desc"],
    ["state__asc", "alt_identifier__asc"],
]


@pytest.mark.parametrize("per_page", [1, 7, 45, 100])
@pytest.mark.parametrize("sort", SORTS, ids=lambda s: "+".join(s) or "default")
def test_a_cursor_walk_reads_what_a_page_walk_reads(client, member, sort, per_page):
    params = [("sort", s) for s in sort] + [("per_page", per_page)]
    by_cursor, bodies = walk_by_cursor(client, member, params)
    assert by_cursor == walk_by_page(client, member, params)
    assert len(by_cursor) == ROWS
    assert all(body["count"] == ROWS for body in bodies)
    assert all(body["previous"] == "" for body in bodies)
    assert all(len(body["results"]) == per_page for body in bodies[:-1])


def test_filters_and_per_page_carry_over_into_next(client, member):
    params = [("state", "A"), ("per_page", 5), ("sort", "size__asc")]
    ids, bodies = walk_by_cursor(client, member, params)
    assert len(ids) == len(set(ids)) == sum(1 for n in range(ROWS) if n % 4)
    query = parse_qs(urlsplit(bodies[0]["next"]).query)
    assert query["state"] == ["A"] and query["per_page"] == ["5"]
    assert query["sort"] == ["size__asc"] and "page" not in query
    assert urlsplit(bodies[0]["next"]).path == OBJECTS
    assert bodies[-1]["next"] == ""


def test_rows_written_between_pages_are_neither_repeated_nor_skipped(client, member):
    """Offset paging repeats a row when one is inserted before the page; a keyset does not."""
    params = [("sort", "identifier__asc"), ("per_page", 10), ("cursor", "*")]
    first = get(client, member, OBJECTS, params)
    with connection(), database.atomic():
        early = IntellectualObject.create(
            identifier=f"{member.institution.identifier}/a-first",
            title="t",
            bag_name="early",
            institution_id=member.institution.id,
        )
    try:
        rest = []
        url = first["next"]
        while url:
            body = get(client, member, url)
            rest += [row["id"] for row in body["results"]]
            url = body["next"]
        seen = [row["id"] for row in first["results"]] + rest
        assert len(seen) == len(set(seen)) == ROWS
        assert early.id not in seen  # it sorts before the cursor
    finally:
        with connection():
            early.delete_instance()


def test_an_empty_list_has_no_next(client, member):
    body = get(client, member, OBJECTS, {"cursor": "*", "identifier": "nothing/here"})
    assert body == {"count": 0, "next": "", "previous": "", "results": []}


def cursor_of(client, member, sort: str = "identifier__asc") -> str:
    body = get(client, member, OBJECTS, {"cursor": "*", "per_page": 2, "sort": sort})
    return parse_qs(urlsplit(body["next"]).query)["cursor"][0]


def forge(payload) -> str:
    data = json.dumps(payload).encode()
    return "1" + base64.urlsafe_b64encode(data).decode().rstrip("=")


def problem_names_cursor(client, member, params, status=400) -> dict:
    response = client.get(OBJECTS, params=params, headers=member.headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert "cursor" in [e["name"] for e in body.get("errors", [])] or "cursor" in body["detail"]
    return body


def test_a_cursor_is_valid_only_for_its_sort(client, member):
    cursor = cursor_of(client, member)
    body = problem_names_cursor(client, member, {"cursor": cursor, "sort": "size__asc"})
    assert "sort" in body["detail"]
    get(client, member, OBJECTS, {"cursor": cursor, "sort": "identifier__asc"})


def test_page_is_ignored_with_a_cursor(client, member):
    params = {"cursor": "*", "sort": "identifier__asc", "per_page": 5}
    assert get(client, member, OBJECTS, {**params, "page": 3}) == get(
        client, member, OBJECTS, params
    )


def test_forged_cursors_are_400_not_500(client, member):
    genuine = cursor_of(client, member)
    signature, values = json.loads(base64.urlsafe_b64decode(genuine[1:] + "=="))
    bomb = zlib.compress(b"[" * 10 + b" " * 5_000_000)
    forged = [
        "1",
        "1!!!",
        "3" + genuine[1:],
        genuine[:-3],
        forge("not a list"),
        forge([signature]),
        forge([signature, values[:1]]),
        forge([signature, [values[0], "12"]]),  # id as text
        forge([signature, [values[0], True]]),
        forge([signature, [values[0], 2**63]]),  # past a bigint
        forge([signature, ["x\x00y", values[1]]]),  # NUL: PostgreSQL would refuse it
        forge([signature, [None, values[1]]]),  # identifier is never NULL
        forge([signature, [{"a": 1}, values[1]]]),
        "2" + base64.urlsafe_b64encode(bomb).decode().rstrip("="),
    ]
    for cursor in forged:
        if len(cursor) > 16384:
            cursor = cursor[:16384]
        problem_names_cursor(client, member, {"cursor": cursor, "sort": "identifier__asc"})


def test_a_forged_datetime_cursor_is_checked(client, member):
    genuine = cursor_of(client, member, "updated_at__asc")
    signature, values = json.loads(base64.urlsafe_b64decode(genuine[1:] + "=="))
    for bad in ["yesterday", 5, None]:
        problem_names_cursor(
            client,
            member,
            {"cursor": forge([signature, [bad, values[1]]]), "sort": "updated_at__asc"},
        )
    far = forge([signature, ["9999-12-31T23:59:59Z", values[1]]])
    body = get(client, member, OBJECTS, {"cursor": far, "sort": "updated_at__asc"})
    assert body["results"] == [] and body["next"] == ""


def test_a_cursor_for_long_values_is_compressed_and_round_trips(client, member):
    """Sort keys with long text make a long cursor: zlib keeps it below the spec's maxLength."""
    long_prefix = f"{member.institution.identifier}/{'é' * 900}"
    with connection(), database.atomic():
        made = [
            IntellectualObject.create(
                identifier=f"{long_prefix}{n}",
                title="t",
                bag_name=f"long{n}",
                institution_id=member.institution.id,
            )
            for n in range(3)
        ]
    try:
        params = {"identifier__starts_with": long_prefix, "sort": "identifier__asc"}
        body = get(client, member, OBJECTS, {**params, "cursor": "*", "per_page": 1})
        cursor = parse_qs(urlsplit(body["next"]).query)["cursor"][0]
        assert cursor.startswith("2") and len(cursor) < 16384
        ids, url = [body["results"][0]["id"]], body["next"]
        while url:
            body = get(client, member, url)
            ids += [row["id"] for row in body["results"]]
            url = body["next"]
        assert ids == [o.id for o in made]
    finally:
        with connection():
            for o in made:
                o.delete_instance()


def test_the_spec_states_the_cursor_the_engine_reads():
    from models.storage import cursor
    from registry.spec import MEMBER_SPEC, load_spec

    schema = load_spec(MEMBER_SPEC)["components"]["parameters"]["cursor"]["schema"]
    assert schema["pattern"] == cursor.PATTERN
    assert schema["maxLength"] == cursor.MAX_LENGTH
