"""Filter values the reference server accepts are accepted, and match what they match.

The rule (README, "Compatibility with the APTrust Registry"): where the reference server accepts
a request, Registry accepts it and answers in the same shape; it is stricter only where the
reference answers 500 or does something unsafe. So, on every list of both APIs:

- an id below 1 (`institution_id=0`, `intellectual_object_id=-1`) names nothing: 200, no rows,
  for institutional callers too (it names no other institution, so it is no 403);
- a negative size or count is a bound like any other (`size__lteq=-1` matches nothing,
  `size__gteq=-1` everything);
- text that is not a UUID, in the files' `uuid` or the events' `identifier` filter, matches
  nothing (PostgreSQL holds them as text: no cast error);
- any BagIt profile URL may be asked for, as objects may carry any;
- a date-time filter may be written as the reference's clients write it: `+0000`, no offset,
  or a bare date.

What the reference answers 500 for stays a 400 (tests/test_bad_input*.py): a non-numeric id,
an impossible date.
"""

from __future__ import annotations

import json

import pytest

from models.generic_file import GenericFile
from models.intellectual_object import IntellectualObject
from models.premis_event import PremisEvent
from models.storage.db import connection, database
from models.work_item import WorkItem
from registry.spec import ADMIN_SPEC, MEMBER_SPEC, load_spec
from tests.listing_rows import Scratch

BASE = "/member-api/v3"
NOTHING = [0, -1, -(2**63)]


def _id_filters():
    """(API path, parameter) of every filter whose schema is FilterId, in both specs."""
    for spec_path, prefix in ((MEMBER_SPEC, ""), (ADMIN_SPEC, "/admin-api/v3")):
        document = load_spec(spec_path)
        components = document["components"]["parameters"]
        for path, item in document["paths"].items():
            operation = item.get("get", {})
            for parameter in operation.get("parameters", []):
                if "$ref" in parameter:
                    parameter = components[parameter["$ref"].rsplit("/", 1)[-1]]
                if parameter["in"] == "query" and parameter["schema"].get("$ref", "").endswith(
                    "/FilterId"
                ):
                    yield prefix + path, parameter["name"]


ID_FILTERS = sorted(set(_id_filters()))


def get(client, headers, url, params=None) -> dict:
    """A list's answer; an export's NDJSON rows as the list envelope they stand for."""
    response = client.get(url, params=params, headers=headers)
    assert response.status_code == 200, (url, params, response.text[:300])
    if response.headers["content-type"] == "application/x-ndjson":
        rows = [json.loads(line) for line in response.text.splitlines()]
        return {"count": len(rows), "next": "", "previous": "", "results": rows}
    return response.json()


def test_every_id_filter_is_found():
    assert len(ID_FILTERS) >= 15
    assert ("/member-api/v3/objects", "institution_id") in ID_FILTERS
    assert ("/admin-api/v3/storage_records", "generic_file_id") in ID_FILTERS


@pytest.mark.parametrize("path, name", ID_FILTERS, ids=[f"{p} {n}" for p, n in ID_FILTERS])
def test_an_id_below_1_matches_nothing(client, world, path, name):
    personas = ["sysadmin"] if path.startswith("/admin-api") else ["sysadmin", "inst_user"]
    for persona in personas:
        assert get(client, world[persona].headers, path)["count"] > 0, persona
        for value in NOTHING:
            body = get(client, world[persona].headers, path, {name: value})
            assert body == {"count": 0, "next": "", "previous": "", "results": []}, (persona, value)


def test_another_institutions_positive_id_is_still_a_403(client, world):
    other = world.institutions["test.edu"]
    response = client.get(
        f"{BASE}/objects", params={"institution_id": other}, headers=world["inst_user"].headers
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "path, field",
    [("objects", "size"), ("objects", "file_count"), ("files", "size"), ("items", "size")],
)
def test_negative_bounds_are_bounds(client, world, path, field):
    headers = world["inst_user"].headers
    everything = get(client, headers, f"{BASE}/{path}", {"per_page": 1000})
    assert (
        get(client, headers, f"{BASE}/{path}", {f"{field}__gteq": -1, "per_page": 1000})
        == everything
    )
    assert (
        get(client, headers, f"{BASE}/{path}", {f"{field}__gteq": -(2**63), "per_page": 1000})
        == everything
    )
    assert get(client, headers, f"{BASE}/{path}", {f"{field}__lteq": -1})["count"] == 0


def test_text_that_is_no_uuid_matches_nothing(client, world):
    headers = world["inst_user"].headers
    with connection():
        mine = world["inst_user"].institution_id
        gf = GenericFile.select().where(GenericFile.institution == mine).first()
        event = PremisEvent.select().where(PremisEvent.institution == mine).first()
    assert [
        r["id"] for r in get(client, headers, f"{BASE}/files", {"uuid": gf.uuid})["results"]
    ] == [gf.id]
    assert [
        r["id"]
        for r in get(client, headers, f"{BASE}/events", {"identifier": event.identifier})["results"]
    ] == [event.id]
    for value in ["not-a-uuid", gf.uuid[:-1], gf.uuid + "0", "' OR 1=1 --", "x" * 2000]:
        assert get(client, headers, f"{BASE}/files", {"uuid": value})["count"] == 0, value
        assert get(client, headers, f"{BASE}/events", {"identifier": value})["count"] == 0


def test_any_bagit_profile_can_be_asked_for(client):
    profile = "https://example.com/profile.json"  # what the reference's fixtures carry
    with Scratch() as scratch:
        with connection(), database.atomic():
            member = scratch.member()
            obj = IntellectualObject.create(
                identifier=f"{member.institution.identifier}/bag",
                title="t",
                bag_name="bag",
                institution=member.institution,
                bagit_profile_identifier=profile,
            )
            WorkItem.create(
                name="bag.tar",
                etag="e" * 32,
                bucket="b",
                user="u@example.edu",
                note="n",
                action="Ingest",
                stage="Receive",
                status="Pending",
                outcome="o",
                institution=member.institution,
                intellectual_object=obj,
                bag_date=obj.created_at,
                date_processed=obj.created_at,
            )
        for path in ("objects", "items"):
            body = get(
                client, member.headers, f"{BASE}/{path}", {"bagit_profile_identifier": profile}
            )
            assert body["count"] == 1 and body["results"][0]["bagit_profile_identifier"] == profile
            assert (
                get(
                    client,
                    member.headers,
                    f"{BASE}/{path}",
                    {"bagit_profile_identifier": profile + "x"},
                )["count"]
                == 0
            )


@pytest.mark.parametrize(
    "written",
    [
        "2024-05-01T00:00:00Z",  # RFC 3339
        "2024-05-01T00:00:00.000000+0000",  # openapi-generator's Python client, aware datetime
        "2024-05-01T00:00:00.000000",  # the same, naive: UTC is meant
        "2024-05-01T00:00:00",
        "2024-05-01 00:00:00",
        "2024-05-01",  # a bare date: its midnight
        "2024-05-01T02:00:00+02",  # an offset of whole hours
        "2024-05-01T05:30:00+0530",
    ],
)
def test_date_time_filters_read_as_the_reference_writes_them(client, world, written):
    headers = world["sysadmin"].headers
    expected = get(
        client,
        headers,
        f"{BASE}/objects",
        {"updated_at__gteq": "2024-05-01T00:00:00Z", "per_page": 1000},
    )
    assert (
        get(client, headers, f"{BASE}/objects", {"updated_at__gteq": written, "per_page": 1000})
        == expected
    )


@pytest.mark.parametrize(
    "written",
    ["2024-02-30", "2024-13-01", "2024-05-01T25:00:00", "soon", "2024-05-01T00:00:00+25:00"],
)
def test_date_times_the_reference_cannot_read_stay_a_400(client, world, written):
    """PostgreSQL refuses these too (the reference answers 500)."""
    response = client.get(
        f"{BASE}/objects", params={"updated_at__gteq": written}, headers=world["sysadmin"].headers
    )
    assert response.status_code == 400
    assert [e["name"] for e in response.json()["errors"]] == ["updated_at__gteq"]


def test_a_repeated_filter_is_read_from_its_first_value(client, world):
    """As the reference reads it (`in` filters take every value)."""
    headers = world["inst_user"].headers
    for first, second in (("A", "D"), ("D", "A")):
        alone = get(client, headers, f"{BASE}/objects", {"state": first, "per_page": 1000})
        assert 0 < alone["count"] < get(client, headers, f"{BASE}/objects")["count"]
        both = get(
            client,
            headers,
            f"{BASE}/objects",
            [("state", first), ("state", second), ("per_page", 1000)],
        )
        assert both["results"] == alone["results"]


def test_the_items_user_filter_reads_as_every_filter(client, world):
    """`user` reaches the handler by its own path (registry/web/authz.py): the same rules."""
    member = world["inst_user"]
    everything = get(client, member.headers, f"{BASE}/items", {"per_page": 1000})
    own = get(client, member.headers, f"{BASE}/items", {"user": member.email, "per_page": 1000})
    assert 0 < own["count"] < everything["count"]
    for params, expected in [
        ({"user": ""}, everything),
        ([("user", member.email), ("user", "")], own),
        ([("user", ""), ("user", member.email)], everything),
    ]:
        body = get(
            client,
            member.headers,
            f"{BASE}/items",
            [*(params.items() if isinstance(params, dict) else params), ("per_page", 1000)],
        )
        assert body["results"] == expected["results"], params
