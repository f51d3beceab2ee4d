"""Client code written the way the reference's clients are written, against Registry.

Scripts written for the APTrust Registry page through a list in one of two ways: they stop when
`next` is the empty string (what the reference server sends on the last page; Go tools compare
with "", Python ones too), or they loop `while next:`. They ask for big pages (`per_page=1000`,
or more than the server serves, which it caps at 1000) and pass optional filters through from
their configuration, empty when unset. Each loop below is such a client, and each must read
exactly the rows the list's `count` says: no row twice, none missing, the same rows whichever
way the list is walked.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.list_strategies import filter_parameters

BASE = "/member-api/v3"
LISTS = ["objects", "files", "checksums", "events", "items", "deletions", "alerts"]
PERSONAS = ["inst_user", "sysadmin"]


def key_of(path: str, row: dict) -> tuple:
    """Alerts list one row per alert and recipient."""
    return (row["id"], row["user_id"]) if path == "alerts" else (row["id"],)


def get(client, headers, url: str) -> dict:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, (url, response.text[:300])
    return response.json()


def until_empty_string(client, headers, url: str) -> tuple[int, list]:
    """`for { ...; if page.Next == "" { break }; url = page.Next }`."""
    rows = []
    while True:
        body = get(client, headers, url)
        rows += body["results"]
        if body["next"] == "":
            return body["count"], rows
        url = body["next"]


def while_next(client, headers, url: str) -> tuple[int, list]:
    """`while url: page = get(url); ...; url = page["next"]`."""
    rows, count = [], None
    while url:
        body = get(client, headers, url)
        count = body["count"] if count is None else count
        assert body["count"] == count
        rows += body["results"]
        url = body["next"]
    return count, rows


def exactly_the_counted_rows(path: str, count: int, rows: list) -> list[tuple]:
    keys = [key_of(path, row) for row in rows]
    assert len(keys) == count == len(set(keys)), (path, count, len(keys), len(set(keys)))
    return keys


@pytest.fixture(scope="module")
def walked(client, world):
    """persona, path -> the row keys of a `while next` walk at per_page=100, walked once."""
    done = {}

    def keys(persona: str, path: str) -> list[tuple]:
        if (persona, path) not in done:
            count, rows = while_next(client, world[persona].headers, f"{BASE}/{path}?per_page=100")
            done[(persona, path)] = exactly_the_counted_rows(path, count, rows)
        return done[(persona, path)]

    return keys


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("path", LISTS)
def test_both_loops_read_every_counted_row_once(client, world, walked, persona, path):
    # The plainest client: no per_page (20 a page), stops on "".
    count, rows = until_empty_string(client, world[persona].headers, f"{BASE}/{path}")
    assert exactly_the_counted_rows(path, count, rows) == walked(persona, path)
    assert count > 0


@pytest.mark.parametrize("per_page", [1000, 5000])
@pytest.mark.parametrize("path", LISTS)
def test_big_page_walks_read_every_counted_row_once(client, world, walked, path, per_page):
    """As the sysadmin (thousands of files, checksums and events): pages of 1000 rows, the
    links saying per_page=1000, whatever was asked."""
    headers = world["sysadmin"].headers
    expected = walked("sysadmin", path)
    url, keys, pages = f"{BASE}/{path}?per_page={per_page}", [], 0
    while url:
        body = get(client, headers, url)
        assert len(body["results"]) <= 1000
        for link in (body["next"], body["previous"]):
            assert link == "" or parse_qs(urlsplit(link).query)["per_page"] == ["1000"]
        keys += [key_of(path, row) for row in body["results"]]
        url, pages = body["next"], pages + 1
    assert keys == expected
    assert pages == max(1, -(-len(expected) // 1000))
    # A client that counts pages itself, asking the same per_page every time (against the
    # reference, whose offsets used the uncapped value, it skipped rows from page 2 on).
    page, keys = 1, []
    while True:
        body = get(client, headers, f"{BASE}/{path}?per_page={per_page}&page={page}")
        keys += [key_of(path, row) for row in body["results"]]
        if not body["next"]:
            break
        page += 1
    assert keys == expected


def test_some_big_page_walks_take_several_pages(client, world):
    """The control for the test above: it did cross page boundaries."""
    body = get(client, world["sysadmin"].headers, f"{BASE}/checksums?per_page=5000")
    assert body["count"] > 2000 and len(body["results"]) == 1000
    assert body["next"] == f"{BASE}/checksums?page=2&per_page=1000"


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("path", LISTS)
def test_empty_filters_from_a_configuration_are_ignored(client, world, walked, persona, path):
    """Every filter of the list, passed through empty (`config.get(name, "")`): the same rows
    in the same order as no filter at all, with either loop."""
    headers = world[persona].headers
    expected = walked(persona, path)
    config = {name: "" for name in sorted(filter_parameters(f"{BASE}/{path}"))}
    query = urlencode({**config, "per_page": 100})
    count, rows = until_empty_string(client, headers, f"{BASE}/{path}?{query}")
    assert exactly_the_counted_rows(path, count, rows) == expected
    count, rows = while_next(client, headers, f"{BASE}/{path}?{query}")
    assert exactly_the_counted_rows(path, count, rows) == expected


def test_a_configuration_with_some_filters_set(client, world):
    """Set filters apply, empty ones do not: the same rows as the set ones alone."""
    headers = world["sysadmin"].headers
    config = {
        "action": "Ingest",
        "stage": "",
        "status": "",
        "object_identifier": "",
        "institution_id": world.institutions["example.edu"],
        "user": "",
        "date_processed__gteq": "",
        "storage_option": "",
    }
    set_only = {k: v for k, v in config.items() if v != ""}
    wanted = exactly_the_counted_rows(
        "items", *while_next(client, headers, f"{BASE}/items?{urlencode(set_only)}")
    )
    got = exactly_the_counted_rows(
        "items", *until_empty_string(client, headers, f"{BASE}/items?{urlencode(config)}")
    )
    assert got == wanted and 0 < len(got)
