"""Streamed exports (handlers/exports.py): every row the list would page through, in the list's
order, scoped like it, as NDJSON or CSV; bad requests refused before the stream begins; read in
keyset batches (made small here, so that an export crosses many batch boundaries and ties);
stopped when the client goes away."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json

import pytest

import handlers.exports
from models.intellectual_object import IntellectualObject
from models.storage.db import connection, database
from models.storage.query import Export
from tests.asgi_scope import http_scope
from tests.listing_rows import Scratch

ROWS = 23
DAY = dt.datetime(2024, 3, 1, 12, 0)
EXPORTS = {
    "objects": "/member-api/v3/objects",
    "files": "/member-api/v3/files",
    "items": "/member-api/v3/items",
    "events": "/member-api/v3/events",
}


@pytest.fixture(autouse=True)
def small_batches(monkeypatch):
    monkeypatch.setattr(handlers.exports, "BATCH_ROWS", 4)


@pytest.fixture(scope="module")
def member(client):
    with Scratch() as scratch:
        with connection(), database.atomic():
            member = scratch.member()
            for n in range(ROWS):
                IntellectualObject.create(
                    identifier=f"{member.institution.identifier}/x{n:02d}",
                    title=f't,"{n}"\n' if n == 3 else f"t{n}",
                    bag_name=f"b{n}",
                    institution=member.institution,
                    updated_at=DAY + dt.timedelta(hours=n % 2),
                    size=n % 3,
                    alt_identifier="alt" if n % 4 == 0 else None,
                )
        yield member


def listed(client, headers, path: str, params: dict) -> list[dict]:
    """The rows of the list, page by page (the reference's way), for comparison."""
    rows, page = [], 1
    while True:
        response = client.get(
            path, params={**params, "page": page, "per_page": 1000}, headers=headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        rows += body["results"]
        if not body["next"]:
            return rows
        page += 1


def exported(client, headers, path: str, params: dict, accept: str | None = None):
    extra = {"Accept": accept} if accept else {}
    response = client.get(f"{path}/export", params=params, headers={**headers, **extra})
    assert response.status_code == 200, response.text
    return response


def ndjson(response) -> list[dict]:
    assert response.headers["content-type"] == "application/x-ndjson"
    return [json.loads(line) for line in response.text.splitlines()]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"sort": "alt_identifier__desc"},
        {"sort": ["size__asc", "updated_at__desc"]},
        {"size__gteq": 1, "size__lteq": 1},
    ],
    ids=["default", "nulls-first", "two-keys", "filtered"],
)
def test_an_export_is_the_list_in_one_answer(client, member, params):
    path = EXPORTS["objects"]
    rows = ndjson(exported(client, member.headers, path, params))
    assert rows == listed(client, member.headers, path, params)
    expected = sum(1 for n in range(ROWS) if n % 3 == 1) if "size__gteq" in params else ROWS
    assert len(rows) == expected


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_every_export_matches_its_list_for_members_and_sysadmins(client, world, name):
    path = EXPORTS[name]
    for persona in ("inst_user", "sysadmin"):
        headers = world[persona].headers
        rows = ndjson(exported(client, headers, path, {}))
        assert rows == listed(client, headers, path, {})
        if persona == "inst_user":
            institution = world[persona].institution_id
            assert rows and {row["institution_id"] for row in rows} == {institution}


def test_csv_has_a_header_and_a_row_per_record(client, member):
    path = EXPORTS["objects"]
    response = exported(client, member.headers, path, {"format": "csv"})
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    table = list(csv.DictReader(io.StringIO(response.text, newline="")))
    rows = listed(client, member.headers, path, {})
    assert [int(r["id"]) for r in table] == [r["id"] for r in rows]
    for text, row in zip(table, rows, strict=True):
        assert text["title"] == row["title"]  # a comma, quotes and a newline survive
        assert text["alt_identifier"] == (row["alt_identifier"] or "")
        assert text["updated_at"] == row["updated_at"]
        assert text["size"] == str(row["size"])


@pytest.mark.parametrize(
    "accept, expected",
    [
        (None, "application/x-ndjson"),
        ("*/*", "application/x-ndjson"),
        ("text/csv", "text/csv; charset=utf-8"),
        ("text/*", "text/csv; charset=utf-8"),
        ("application/x-ndjson;q=0.5, text/csv", "text/csv; charset=utf-8"),
        ("text/csv;q=0.1, */*;q=0.5", "application/x-ndjson"),
    ],
)
def test_accept_chooses_the_format(client, member, accept, expected):
    response = exported(client, member.headers, EXPORTS["objects"], {}, accept)
    assert response.headers["content-type"] == expected


def test_format_wins_over_accept_and_an_impossible_accept_is_406(client, member):
    path = EXPORTS["objects"]
    response = exported(client, member.headers, path, {"format": "ndjson"}, "text/csv")
    assert response.headers["content-type"] == "application/x-ndjson"
    for accept in ("application/json", "text/csv;q=0, application/x-ndjson;q=0"):
        refused = client.get(f"{path}/export", headers={**member.headers, "Accept": accept})
        assert refused.status_code == 406, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["errors"][0]["name"] == "Accept"


def test_bad_filters_and_other_institutions_are_refused_before_the_stream(client, member, world):
    path = f"{EXPORTS['objects']}/export"
    bad = client.get(path, params={"size__gteq": "many"}, headers=member.headers)
    assert bad.status_code == 400 and bad.json()["errors"][0]["name"] == "size__gteq"
    unknown = client.get(path, params={"page": 2}, headers=member.headers)
    assert unknown.status_code == 400  # no paging parameters: an export is every row
    other = world.institutions["test.edu"]
    forbidden = client.get(path, params={"institution_id": other}, headers=member.headers)
    assert forbidden.status_code == 403


def test_an_export_is_gzipped_when_the_client_accepts_it(client, member):
    response = client.get(
        f"{EXPORTS['objects']}/export",
        headers={**member.headers, "Accept-Encoding": "gzip"},
    )
    assert response.headers["content-encoding"] == "gzip"
    assert "etag" not in response.headers  # a stream carries no tag
    assert response.headers["cache-control"] == "no-store"
    assert len(ndjson(response)) == ROWS


def test_an_export_stops_reading_when_the_client_goes_away(own_client, member, monkeypatch):
    """The client disconnects once the first chunk arrives: no batch after the one in flight
    is read. (Response validation, on in the session's app, reads a stream whole to validate
    it: this app runs as production does, without it.)"""
    app = own_client(validate_responses=False).app
    read = []
    original = Export.batch

    def counted(self, after, size):
        read.append(after)
        return original(self, after, size)

    monkeypatch.setattr(Export, "batch", counted)
    monkeypatch.setattr(handlers.exports, "BATCH_ROWS", 1)
    scope = http_scope("GET", f"{EXPORTS['objects']}/export", member.headers)
    sent = []

    async def run():
        first_chunk = asyncio.Event()
        asked = 0

        async def receive():
            nonlocal asked
            asked += 1
            if asked == 1:
                return {"type": "http.request", "body": b"", "more_body": False}
            await first_chunk.wait()
            return {"type": "http.disconnect"}

        async def send(message):
            sent.append(message)
            if message["type"] == "http.response.body" and message.get("body"):
                first_chunk.set()
                await asyncio.sleep(0.05)  # a slow network: the disconnect arrives meanwhile

        await asyncio.wait_for(app(scope, receive, send), 30)

    asyncio.run(run())
    assert sent[0]["status"] == 200
    assert 1 <= len(read) <= 3, f"{len(read)} batches of 1 read after the client left"
    assert not any(m.get("more_body") is False and m.get("body") for m in sent[1:])


def test_the_export_operations_take_the_lists_filters(client):
    """The published spec gives each export its list's parameters, less the paging ones."""
    from registry.spec import MEMBER_SPEC, load_spec

    spec = load_spec(MEMBER_SPEC)

    def names(operation):
        return {
            p.get("name") or spec["components"]["parameters"][p["$ref"].split("/")[-1]]["name"]
            for p in operation["parameters"]
        }

    for path in EXPORTS.values():
        listed_names = names(spec["paths"][path]["get"]) - {"page", "per_page", "cursor"}
        assert names(spec["paths"][f"{path}/export"]["get"]) == listed_names | {"format"}


def test_an_export_leaves_the_loop_to_other_requests(own_client, member, monkeypatch):
    """Each batch is read and serialised in a database thread: while an export streams to a
    client that takes every chunk at once, another request of the same worker is answered
    before the export ends. (Read on the loop, batch after batch, an export held the loop to
    its end: other requests waited, and gunicorn killed the worker whose heartbeat stopped.)"""
    app = own_client(validate_responses=False).app
    monkeypatch.setattr(handlers.exports, "BATCH_ROWS", 1)

    def scope(path: str) -> dict:
        return http_scope("GET", path, member.headers)

    events = []

    async def run():
        export_done = asyncio.Event()

        async def receive():
            await export_done.wait()
            return {"type": "http.disconnect"}

        async def export_send(message):
            if message["type"] == "http.response.body" and not message.get("more_body"):
                events.append("export ended")
                export_done.set()

        async def probe_send(message):
            if message["type"] == "http.response.start":
                events.append(f"probe {message['status']}")

        async def probe():
            await asyncio.sleep(0)  # the export has begun
            await app(scope("/livez"), receive, probe_send)

        await asyncio.wait_for(
            asyncio.gather(
                app(scope(f"{EXPORTS['objects']}/export"), receive, export_send), probe()
            ),
            60,
        )

    asyncio.run(run())
    assert events == ["probe 200", "export ended"], events
