"""Known hard cases of the filter grammar, checked on every run against the same oracle.

The property tests reach these only by chance; here each is certain: LIKE wildcards and case
in prefixes, code point order beyond the BMP (where UTF-16 order differs), a datetime bound
equal to a stored instant but written with an offset, and the payload boundary of `data/`.
"""

from __future__ import annotations

import datetime as dt

import pytest

from models.generic_file import GenericFile
from models.intellectual_object import IntellectualObject
from models.stats import refresh_object_stats
from models.storage.db import connection, database
from tests.list_oracle import Condition, answer
from tests.listing_rows import Scratch

OBJECTS = "/member-api/v3/objects"
SUFFIXES = [
    "a_b",
    "axb",
    "A_b",
    "a%c",
    "abc",
    "a",
    "é",
    "e",
    "日本",
    "x\uffff",
    "x😀",
    "x\U000e0001",
    "x",
    "x ",
    "x\t",
    "x/y",
    "x%2F",
]
T = dt.datetime(2024, 5, 1, 12, 0, 0, 500000)
TIMES = [T - dt.timedelta(microseconds=1), T, T + dt.timedelta(microseconds=1)]
# Paths of the files of one object, and whether each is payload (under "data/").
PATHS = {
    "data/x": True,
    "data/sub/x": True,
    "data/": True,
    "data": False,
    "data.x": False,
    "data-x": False,
    "data0x": False,
    "datax": False,
    "Data/x": False,
    "tagmanifest-md5.txt": False,
}


@pytest.fixture(scope="module")
def edges(client):
    with Scratch() as scratch:
        with connection(), database.atomic():
            member = scratch.member()
            prefix = f"{member.institution.identifier}/"
            rows = []
            for n, suffix in enumerate(SUFFIXES):
                obj = IntellectualObject.create(
                    identifier=prefix + suffix,
                    alt_identifier=suffix,
                    title="t",
                    bag_name=f"b{n}",
                    institution=member.institution,
                    created_at=TIMES[n % 3],
                    updated_at=TIMES[n % 3],
                )
                rows.append(
                    {
                        "id": obj.id,
                        "identifier": obj.identifier,
                        "alt_identifier": suffix,
                        "created_at": obj.created_at,
                        "updated_at": obj.updated_at,
                    }
                )
            bag = IntellectualObject.get_by_id(rows[0]["id"])
            for n, path in enumerate(PATHS):
                GenericFile.create(
                    identifier=f"{bag.identifier}/{path}",
                    intellectual_object=bag,
                    institution=member.institution,
                    size=10**n,
                    state="A",
                    file_format="text/plain",
                    uuid=f"00000000-0000-4000-8000-{bag.id:06x}{n:06x}",
                )
            GenericFile.create(
                identifier=f"{bag.identifier}/data/deleted",
                intellectual_object=bag,
                institution=member.institution,
                size=7,
                state="D",
                file_format="text/plain",
                uuid=f"00000000-0000-4000-8000-{bag.id:06x}ffffff",
            )
            refresh_object_stats([bag.id])
        yield member, prefix, rows


def ids(client, member, params) -> tuple[int, list[int]]:
    response = client.get(OBJECTS, params=[*params, ("per_page", "1000")], headers=member.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    return body["count"], [r["id"] for r in body["results"]]


def expected(rows, conditions, sort=()) -> tuple[int, list[int]]:
    count, page = answer(rows, conditions, list(sort), 1, 1000)
    return count, [r["id"] for r in page]


@pytest.mark.parametrize(
    "field, value",
    [
        ("alt_identifier", "a_"),
        ("alt_identifier", "a%"),
        ("alt_identifier", "A"),
        ("alt_identifier", "a"),
        ("alt_identifier", "x"),
        ("alt_identifier", "e"),
        ("alt_identifier", "é"),
        ("alt_identifier", "日"),
        ("alt_identifier", "x\uffff"),
        ("alt_identifier", "x😀"),
        ("alt_identifier", "x/"),
        ("alt_identifier", "x%2"),
        ("identifier", "a_"),
        ("identifier", "x"),
        ("identifier", ""),
    ],
)
def test_starts_with_is_a_literal_case_sensitive_prefix(client, edges, field, value):
    member, prefix, rows = edges
    value = prefix + value if field == "identifier" else value
    condition = Condition(f"{field}__starts_with", value)
    assert ids(client, member, [(condition.param, value)]) == expected(rows, [condition])


@pytest.mark.parametrize(
    "sort", ["identifier__asc", "identifier__desc", "alt_identifier__asc", "alt_identifier__desc"]
)
def test_text_sorts_by_code_point(client, edges, sort):
    member, _, rows = edges
    name, direction = sort.rsplit("__", 1)
    assert ids(client, member, [("sort", sort)]) == expected(rows, [], [(name, direction)])


@pytest.mark.parametrize(
    "written",
    [
        "2024-05-01T12:00:00.5Z",
        "2024-05-01T12:00:00.500000+00:00",
        "2024-05-01T17:30:00.5+05:30",
        "2024-05-01T07:00:00.500000-05:00",
    ],
)
@pytest.mark.parametrize("op", ["gteq", "lteq"])
def test_a_bound_equal_to_a_stored_instant_includes_it_whatever_the_offset(
    client, edges, written, op
):
    member, _, rows = edges
    for field in ("created_at", "updated_at"):
        condition = Condition(f"{field}__{op}", T)
        want = expected(rows, [condition])
        assert ids(client, member, [(condition.param, written)]) == want
        assert 0 < want[0] < len(rows)


def test_payload_is_exactly_the_active_files_under_data(client, edges):
    member, _, rows = edges
    response = client.get(f"{OBJECTS}/show/{rows[0]['id']}", headers=member.headers)
    body = response.json()
    sizes = {path: 10**n for n, path in enumerate(PATHS)}
    assert body["file_count"] == len(PATHS)
    assert body["size"] == sum(sizes.values())
    assert body["payload_file_count"] == sum(PATHS.values())
    assert body["payload_size"] == sum(sizes[p] for p, payload in PATHS.items() if payload)
