"""`/objects/show/{id}` and `/files/show/{id}`: every way of naming a record finds the same one.

Identifiers are free text chosen by depositors, so they contain slashes, spaces, quotes,
non-ASCII letters and URL metacharacters. A member must be able to fetch any of them by
percent-encoding it, and anything that names no visible record must be a clean 404.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from urllib.parse import quote

import httpx
import pytest

from models.checksum import Checksum
from models.generic_file import GenericFile
from models.intellectual_object import IntellectualObject
from models.premis_event import PremisEvent
from models.storage.db import connection, database
from models.storage_record import StorageRecord
from tests.fixtures_api import assert_problem, schema_fields

API = "/member-api/v3"
INSTITUTION = "example.edu"
WEIRD_NAMES = {
    "spaces": "bag with  spaces",
    "quotes": "bag \"double\" and 'single' quotes",
    "unicode": "bägé-ünïcödé-漢字-😀",
    "question": "what?is=this&that",
    "hash": "hash#fragment",
    "percent": "100% sure",
    "encoded-looking": "literal%2Fslash%20",
    "plus": "plus+sign",
    "everything": "a b/c?d#e%f 'g\"h ü",
}
T0 = dt.datetime(2024, 6, 1, 12, 0, 0)


def _create_object(inst_id: int, identifier: str) -> IntellectualObject:
    return IntellectualObject.create(
        identifier=identifier,
        title=identifier,
        institution=inst_id,
        bag_name=identifier.split("/", 1)[1],
    )


def _create_file(obj: IntellectualObject, identifier: str) -> GenericFile:
    return GenericFile.create(
        identifier=identifier,
        file_format="text/plain",
        size=1,
        intellectual_object=obj,
        institution=obj.institution_id,
        uuid=str(uuid.uuid4()),
    )


def _history(f: GenericFile) -> dict:
    """Three checksums and three events, inserted out of time order; two storage records."""
    checksums, events = [], []
    for days in (2, 1, 3):
        when = T0 + dt.timedelta(days=days)
        checksums.append(
            Checksum.create(
                algorithm="sha256",
                datetime=when,
                digest=f"{days}" * 64,
                generic_file=f,
                institution=f.institution_id,
                created_at=when,
                updated_at=when,
            ).id
        )
        events.append(
            PremisEvent.create(
                identifier=str(uuid.uuid4()),
                event_type="fixity check",
                date_time=when,
                outcome="Success",
                outcome_detail=f"day {days}",
                institution=f.institution_id,
                intellectual_object=f.intellectual_object_id,
                generic_file=f,
            ).id
        )
    urls = [f"https://storage.example/{region}/{f.uuid}" for region in ("va", "or")]
    for url in urls:
        StorageRecord.create(generic_file=f, url=url)
    newest_first = [2, 0, 1]  # the rows of days 3, 2, 1
    return {
        "checksums": [checksums[i] for i in newest_first],
        "events": [events[i] for i in newest_first],
        "urls": set(urls),
    }


@pytest.fixture(scope="module")
def records(world):
    """Objects and files with awkward identifiers, and one file with a known history."""
    inst_id = world.institutions[INSTITUTION]
    made = {"objects": {}, "files": {}}
    with connection(), database.atomic():
        for key, name in WEIRD_NAMES.items():
            obj = _create_object(inst_id, f"{INSTITUTION}/{name}")
            f = _create_file(obj, f"{obj.identifier}/data/{name}.txt")
            made["objects"][key] = (obj.id, obj.identifier)
            made["files"][key] = (f.id, f.identifier)
        obj = _create_object(inst_id, f"{INSTITUTION}/show-test-history")
        f = _create_file(obj, f"{obj.identifier}/data/history.txt")
        made["history"] = {"file_id": f.id, "identifier": f.identifier, **_history(f)}
    yield made
    object_ids = [i for i, _ in made["objects"].values()] + [obj.id]
    file_ids = [i for i, _ in made["files"].values()] + [f.id]
    with connection(), database.atomic():
        StorageRecord.delete().where(StorageRecord.generic_file.in_(file_ids)).execute()
        Checksum.delete().where(Checksum.generic_file.in_(file_ids)).execute()
        PremisEvent.delete().where(PremisEvent.intellectual_object.in_(object_ids)).execute()
        GenericFile.delete().where(GenericFile.id.in_(file_ids)).execute()
        IntellectualObject.delete().where(IntellectualObject.id.in_(object_ids)).execute()


@pytest.fixture(scope="module")
def served(app):
    """GET through httpx's ASGI transport, which percent-decodes the path once, as uvicorn does.

    Starlette's TestClient decodes it twice (Kludex/starlette#2587), so through it an identifier
    containing a literal `%2F` would arrive as a slash and never be found.
    """

    async def fetch(path: str, headers: dict) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.get(path, headers=headers)

    return lambda path, headers: asyncio.run(fetch(path, headers))


def _demo_record(resource: str) -> tuple[int, str]:
    model = IntellectualObject if resource == "objects" else GenericFile
    prefix = f"{INSTITUTION}/bag-0001" + ("" if resource == "objects" else "/data/")
    with connection():
        row = (
            model.select(model.id, model.identifier)
            .where(model.identifier.startswith(prefix))
            .order_by(model.id)
            .first()
        )
    return row.id, row.identifier


@pytest.mark.parametrize("resource", ["objects", "files"])
def test_id_raw_and_encoded_identifier_answer_identically(client, world, resource):
    record_id, identifier = _demo_record(resource)
    assert "/" in identifier
    headers = world["inst_user"].headers
    bodies = []
    for key in (str(record_id), identifier, quote(identifier, safe="")):
        response = client.get(f"{API}/{resource}/show/{key}", headers=headers)
        assert response.status_code == 200, (key, response.text)
        bodies.append(response.json())
    assert bodies[0]["id"] == record_id and bodies[0]["identifier"] == identifier
    assert bodies[0] == bodies[1] == bodies[2]


@pytest.mark.parametrize("safe", ["", "/"], ids=["all-encoded", "slashes-raw"])
@pytest.mark.parametrize("name", list(WEIRD_NAMES))
@pytest.mark.parametrize("resource", ["objects", "files"])
def test_awkward_identifiers_are_found_when_encoded(served, world, records, resource, name, safe):
    record_id, identifier = records[resource][name]
    response = served(
        f"{API}/{resource}/show/{quote(identifier, safe=safe)}", world["inst_user"].headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["id"], body["identifier"]) == (record_id, identifier)


@pytest.mark.parametrize("resource", ["objects", "files"])
@pytest.mark.parametrize(
    "key",
    [
        "999999999",
        "9223372036854775807",
        "9223372036854775808",
        "99999999999999999999999999",
        "0",
        "-1",
        "١٢٣",
        f"{INSTITUTION}/no-such-bag",
        f"{INSTITUTION}/bag-0001/data/no-such-file",
        quote(f"{INSTITUTION}/no such?bag#", safe=""),
    ],
)
def test_unknown_key_is_a_404_problem(client, world, resource, key):
    response = client.get(f"{API}/{resource}/show/{key}", headers=world["sysadmin"].headers)
    body = assert_problem(response, 404)
    assert body["title"] == "Not Found"


def test_file_show_lists_history_newest_first_in_spec_shapes(client, world, records):
    history = records["history"]
    response = client.get(
        f"{API}/files/show/{quote(history['identifier'], safe='')}",
        headers=world["inst_user"].headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    properties, required = schema_fields("GenericFile")
    assert required <= set(body) <= properties
    assert {"checksums", "premis_events", "storage_records"} <= required

    assert [c["id"] for c in body["checksums"]] == history["checksums"]
    assert [c["digest"] for c in body["checksums"]] == ["3" * 64, "2" * 64, "1" * 64]
    assert [c["datetime"] for c in body["checksums"]] == [
        "2024-06-04T12:00:00Z",
        "2024-06-03T12:00:00Z",
        "2024-06-02T12:00:00Z",
    ]
    assert [e["id"] for e in body["premis_events"]] == history["events"]
    assert [e["outcome_detail"] for e in body["premis_events"]] == ["day 3", "day 2", "day 1"]
    assert {s["url"] for s in body["storage_records"]} == history["urls"]

    for kind, schema in (
        ("checksums", "Checksum"),
        ("premis_events", "PremisEvent"),
        ("storage_records", "StorageRecord"),
    ):
        for item in body[kind]:
            properties, required = schema_fields(schema)
            assert required <= set(item) <= properties, kind
            assert item["generic_file_id"] == history["file_id"]
            assert isinstance(item["id"], int)


def test_demo_file_show_includes_its_ingest_records(client, world):
    file_id, identifier = _demo_record("files")
    body = client.get(f"{API}/files/show/{file_id}", headers=world["inst_user"].headers).json()
    with connection():
        expected = {
            "checksums": Checksum.select().where(Checksum.generic_file == file_id).count(),
            "premis_events": PremisEvent.select()
            .where(PremisEvent.generic_file == file_id)
            .count(),
            "storage_records": StorageRecord.select()
            .where(StorageRecord.generic_file == file_id)
            .count(),
        }
    assert all(expected.values())
    assert {kind: len(body[kind]) for kind in expected} == expected
    assert {c["algorithm"] for c in body["checksums"]} == {"md5", "sha256"}
