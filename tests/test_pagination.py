"""The list envelope (count, next, previous, results) and walking a list page by page.

The rows live in a throwaway institution: 45 objects whose sort columns are mostly tied (three
`updated_at` values, every size 0, `alt_identifier` mostly NULL), so that only the `id`
tie-break keeps pages from overlapping, and identifiers with characters that links must encode.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import quote_plus

import pytest

from models.generic_file import GenericFile
from models.intellectual_object import IntellectualObject
from models.storage.db import connection, database
from tests.listing_rows import Member, Scratch

OBJECTS, FILES = "/member-api/v3/objects", "/member-api/v3/files"
ROWS = 45
STORAGE = ["Standard", "Glacier-OH", "Wasabi-VA"]
DAY = dt.datetime(2024, 3, 1, 12, 0)


@dataclass(frozen=True)
class Shelf:
    member: Member
    prefix: str  # every object identifier starts with it
    object_ids: list[int]
    file_ids: list[int]


@pytest.fixture(scope="module")
def shelf(client):
    with Scratch() as scratch:
        with connection(), database.atomic():
            member = scratch.member()
            prefix = f"{member.institution.identifier}/p &é%_"
            objects = [
                IntellectualObject.create(
                    identifier=f"{prefix}{n:02d}",
                    title="t",
                    bag_name=f"b{n}",
                    institution=member.institution,
                    updated_at=DAY + dt.timedelta(hours=n % 3),
                    state="D" if n % 4 == 0 else "A",
                    storage_option=STORAGE[n % 3],
                    alt_identifier="alt" if n % 5 == 0 else None,
                )
                for n in range(ROWS)
            ]
            files = [
                GenericFile.create(
                    identifier=f"{objects[0].identifier}/data/f{n:02d}",
                    intellectual_object=objects[0],
                    institution=member.institution,
                    storage_option=STORAGE[n % 3],
                    size=n % 2,
                    file_format="text/plain",
                    uuid=f"00000000-0000-4000-8000-{objects[0].id:06x}{n:06x}",
                )
                for n in range(25)
            ]
        yield Shelf(member, prefix, [o.id for o in objects], [f.id for f in files])


def get(client, shelf: Shelf, url: str, params=None, status: int = 200) -> dict:
    response = client.get(url, params=params, headers=shelf.member.headers)
    assert response.status_code == status, response.text
    return response.json()


def test_first_page_uses_default_per_page(client, shelf):
    body = get(client, shelf, OBJECTS)
    assert body["count"] == ROWS
    assert len(body["results"]) == 20
    assert body["previous"] == ""
    assert body["next"] == f"{OBJECTS}?page=2&per_page=20"


def test_links_sort_keys_replace_page_and_set_per_page(client, shelf):
    body = get(
        client,
        shelf,
        OBJECTS,
        [("state", "A"), ("per_page", "4"), ("page", "2"), ("access", "institution")],
    )
    assert body["count"] == 33  # every n with n % 4 != 0
    assert body["next"] == f"{OBJECTS}?access=institution&page=3&per_page=4&state=A"
    assert body["previous"] == f"{OBJECTS}?access=institution&page=1&per_page=4&state=A"


def test_links_encode_filter_values(client, shelf):
    body = get(
        client, shelf, OBJECTS, [("identifier__starts_with", shelf.prefix + "1"), ("per_page", "3")]
    )
    assert body["count"] == 10  # 10 .. 19
    assert body["next"] == (
        f"{OBJECTS}?identifier__starts_with={quote_plus(shelf.prefix + '1')}&page=2&per_page=3"
    )


def test_repeated_parameters_are_kept_in_order(client, shelf):
    params = [
        ("storage_option__in", "Wasabi-VA"),
        ("sort", "size__desc"),
        ("storage_option__in", "Standard"),
        ("sort", "identifier__asc"),
        ("per_page", "3"),
    ]
    body = get(client, shelf, FILES, params)
    assert body["count"] == 17  # n % 3 in (0, 2) for n < 25
    assert body["next"] == (
        f"{FILES}?page=2&per_page=3&sort=size__desc&sort=identifier__asc"
        "&storage_option__in=Wasabi-VA&storage_option__in=Standard"
    )
    follow = client.get(body["next"], headers=shelf.member.headers).json()
    assert follow["count"] == 17
    assert follow["previous"] == (
        f"{FILES}?page=1&per_page=3&sort=size__desc"
        "&sort=identifier__asc&storage_option__in=Wasabi-VA"
        "&storage_option__in=Standard"
    )


def test_last_page_has_no_next(client, shelf):
    body = get(client, shelf, OBJECTS, {"page": 5, "per_page": 10})
    assert len(body["results"]) == 5
    assert body["next"] == ""
    assert body["previous"] == f"{OBJECTS}?page=4&per_page=10"


def test_exactly_full_last_page_has_no_next(client, shelf):
    body = get(client, shelf, OBJECTS, {"page": 3, "per_page": 15})
    assert len(body["results"]) == 15
    assert body["next"] == ""


def test_past_the_end_is_empty_with_full_count_and_previous(client, shelf):
    body = get(client, shelf, OBJECTS, {"page": 99, "per_page": 10})
    assert body == {
        "count": ROWS,
        "next": "",
        "previous": f"{OBJECTS}?page=98&per_page=10",
        "results": [],
    }


def test_far_past_the_end(client, shelf):
    body = get(client, shelf, OBJECTS, {"page": 2**31 - 1, "per_page": 1000})
    assert body["count"] == ROWS
    assert body["results"] == []
    assert body["next"] == ""
    assert body["previous"] == f"{OBJECTS}?page={2**31 - 2}&per_page=1000"


def test_per_page_maximum_is_1000(client, shelf):
    body = get(client, shelf, OBJECTS, {"per_page": 1000})
    assert len(body["results"]) == ROWS
    assert body == {**body, "next": "", "previous": ""}
    get(client, shelf, OBJECTS, {"per_page": 0}, status=400)
    get(client, shelf, OBJECTS, {"per_page": -1}, status=400)
    get(client, shelf, OBJECTS, {"per_page": "all"}, status=400)
    get(client, shelf, OBJECTS, {"per_page": ""}, status=400)
    get(client, shelf, OBJECTS, {"page": 0}, status=400)


@pytest.mark.parametrize("asked", [1001, 5000, 2**31, 2**63 - 1])
def test_per_page_above_1000_is_served_as_1000(client, shelf, asked):
    """As the reference server does: the page holds at most 1000 rows and the links say
    per_page=1000 (their offsets are those of 1000-row pages)."""
    body = get(client, shelf, OBJECTS, {"per_page": asked, "page": 2})
    assert (body["count"], body["results"], body["next"]) == (ROWS, [], "")
    assert body["previous"] == f"{OBJECTS}?page=1&per_page=1000"
    first = get(client, shelf, body["previous"])
    assert len(first["results"]) == ROWS and first["previous"] == ""
    get(client, shelf, OBJECTS, {"per_page": 2**63}, status=400)  # beyond int64


def test_empty_links_are_empty_strings_on_both_ends(client, shelf):
    body = get(client, shelf, OBJECTS, {"identifier": "no such object"})
    assert body == {"count": 0, "next": "", "previous": "", "results": []}


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_ties_are_broken_by_id_in_the_direction_of_the_first_key(client, shelf, direction):
    body = get(client, shelf, OBJECTS, {"sort": f"size__{direction}", "per_page": 1000})
    ids = [r["id"] for r in body["results"]]
    assert ids == sorted(shelf.object_ids, reverse=direction == "desc")


@pytest.mark.parametrize("direction, nulls_first", [("asc", False), ("desc", True)])
def test_null_sorts_as_the_largest_value(client, shelf, direction, nulls_first):
    body = get(client, shelf, OBJECTS, {"sort": f"alt_identifier__{direction}", "per_page": 1000})
    nulls = [r["alt_identifier"] is None for r in body["results"]]
    assert nulls == sorted(nulls, reverse=nulls_first)
    assert 0 < sum(nulls) < ROWS


def walk(client, shelf: Shelf, first: str, link: str) -> list[list[int]]:
    """The ids of every page, following `link` ("next" or "previous") from `first`."""
    pages, url, count = [], first, None
    while url:
        body = client.get(url, headers=shelf.member.headers).json()
        count = body["count"] if count is None else count
        assert body["count"] == count
        pages.append([r["id"] for r in body["results"]])
        url = body[link]
    return pages


@pytest.mark.parametrize(
    "sort",
    [
        "",
        "&sort=size__asc",
        "&sort=size__desc",
        "&sort=updated_at__asc",
        "&sort=alt_identifier__asc",
        "&sort=alt_identifier__desc",
        "&sort=storage_option__asc&sort=state__desc",
    ],
)
@pytest.mark.parametrize("per_page", [1, 7, 20])
def test_following_next_visits_every_row_once_in_one_order(client, shelf, sort, per_page):
    everything = get(client, shelf, f"{OBJECTS}?per_page=1000{sort}")["results"]
    order = [r["id"] for r in everything]
    assert sorted(order) == sorted(shelf.object_ids)

    pages = walk(client, shelf, f"{OBJECTS}?per_page={per_page}{sort}", "next")
    assert [i for page in pages for i in page] == order
    assert all(len(page) == per_page for page in pages[:-1])

    last = len(pages)
    backwards = walk(client, shelf, f"{OBJECTS}?per_page={per_page}&page={last}{sort}", "previous")
    assert backwards == pages[::-1]


def test_walk_keeps_an_encoded_filter(client, shelf):
    url = f"{OBJECTS}?per_page=4&identifier__starts_with={quote_plus(shelf.prefix)}"
    pages = walk(client, shelf, url, "next")
    assert sorted(i for page in pages for i in page) == sorted(shelf.object_ids)
