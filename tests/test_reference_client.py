"""The APTrust Registry's own member API client against a live Registry.

openapi-generator builds a Python client from the reference's published specification
(tests/reference_spec/, unchanged; tests/reference_client.py), and that client, pointed at a
live `registry serve` over the session's database, pages through every list to its end, shows
every record by id and deserializes every answer, as a member institution's script would.

The published specification is not what its own server sends (the reference notes, sections 0
and 2), and Registry sends what the server sends, because clients are written against the
server. Where the client generated from that specification therefore cannot read an answer, the
test checks that it is exactly such a place, and reads the rest:

- ENVELOPE: the specification names the list of a page `items`; the server sends `results`
  (so does Registry). The generated list models read `count`, `next` and `previous` and leave
  `items` empty; the rows are read from `results` with the generated row models.
- SPEC_VALUE_DRIFT: fields the specification constrains more than the server does (work item
  `outcome` is free text, not an enum; any BagIt profile URL occurs; the event type
  `validation` is missing from its enum; an event's `old_uuid`, a legacy system's identifier,
  is no UUID, as its server stores events unvalidated). Such a value fails the generated
  model's validator; the field is set aside (its value must be text, as the server sends) and
  the rest of the record must read.
- SERVER_FIELDS: fields the server sends that the specification lacks; the generated models
  drop them silently. No other field may be sent.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from urllib.parse import parse_qs, urlsplit

import pydantic
import pytest

from tests.reference_client import generated_client, live_server

# (path, Api class, method stem, list row model, show model)
RESOURCES = [
    (
        "objects",
        "IntellectualObjectsApi",
        "member_api_v3_objects",
        "IntellectualObjectView",
        "IntellectualObjectView",
    ),
    ("files", "GenericFilesApi", "member_api_v3_files", "GenericFileView", "GenericFile"),
    ("checksums", "ChecksumsApi", "member_api_v3_checksums", "ChecksumView", "ChecksumView"),
    ("events", "PremisEventsApi", "member_api_v3_events", "PremisEventView", "PremisEventView"),
    ("items", "WorkItemsApi", "member_api_v3_items", "WorkItemView", "WorkItemView"),
    (
        "deletions",
        "DeletionRequestsApi",
        "member_api_v3_deletions",
        "DeletionRequestView",
        "DeletionRequestView",
    ),
    ("alerts", "AlertsApi", "member_api_v3_alerts", "AlertView", "AlertView"),
]
NESTED = {
    "GenericFile": {
        "premis_events": "PremisEvent",
        "checksums": "Checksum",
        "storage_records": "StorageRecord",
    }
}
SPEC_VALUE_DRIFT = {
    ("WorkItemView", "outcome"),  # free text ("Ingest complete"), not Failure|Success
    ("WorkItemView", "bagit_profile_identifier"),  # any profile URL, not one of two
    ("IntellectualObjectView", "bagit_profile_identifier"),
    ("PremisEventView", "event_type"),  # `validation` is an event type of the server
    ("PremisEvent", "event_type"),
    ("PremisEventView", "old_uuid"),  # a legacy identifier; the spec says format uuid
    ("PremisEvent", "old_uuid"),
}
SERVER_FIELDS = {
    "GenericFileView": {"mtime"},
    "GenericFile": {"mtime"},
    "AlertView": {"user_email"},
    "Checksum": {"created_at", "updated_at"},
}


@pytest.fixture(scope="module")
def reference():
    """The generated package (`aptrust_member_client`)."""
    return generated_client()


@pytest.fixture(scope="module")
def server(reference, database_url, world, tmp_path_factory):
    with live_server(database_url, tmp_path_factory.mktemp("live") / "server.log") as url:
        yield url


def api_client(reference, server: str, persona):
    """The generated ApiClient as the persona. The published specification applies no
    security requirement, so its client sends no credentials on its own: like any script
    written with it, the caller adds the two headers to every request."""
    client = reference.ApiClient(reference.Configuration(host=server))
    client.set_default_header("X-Pharos-API-User", persona.email)
    client.set_default_header("X-Pharos-API-Key", persona.key)
    return client


class Reader:
    """Deserializes raw JSON records with the generated models, allowing only the documented
    drift of the specification, and tallies what it set aside."""

    def __init__(self, reference):
        self.reference = reference
        self.drift: dict[tuple[str, str], set] = {}
        self.dropped: dict[str, set] = {}

    def read(self, model_name: str, raw: dict, where: str):
        model = getattr(self.reference, model_name)
        declared = set(getattr(model, f"_{model_name}__properties"))
        unknown = set(raw) - declared
        assert unknown <= SERVER_FIELDS.get(model_name, set()), (
            f"{where}: {model_name} gets fields neither the reference server nor its spec has: "
            f"{sorted(unknown - SERVER_FIELDS.get(model_name, set()))}"
        )
        self.dropped.setdefault(model_name, set()).update(unknown)
        conformed = copy.deepcopy(raw)
        for field in declared & set(raw):
            if (model_name, field) in SPEC_VALUE_DRIFT and raw[field] is not None:
                try:
                    model.model_validate({field: raw[field]})
                except pydantic.ValidationError:
                    assert isinstance(raw[field], str), (where, field, raw[field])
                    self.drift.setdefault((model_name, field), set()).add(raw[field])
                    del conformed[field]
        for field, nested in NESTED.get(model_name, {}).items():
            if conformed.get(field) is not None:
                conformed[field] = [
                    self.read(nested, item, f"{where}.{field}[{i}]").to_dict()
                    for i, item in enumerate(conformed[field])
                ]
        try:
            return model.from_dict(conformed)
        except pydantic.ValidationError as exc:
            raise AssertionError(
                f"{where}: the generated {model_name} cannot read it: {exc}"
            ) from exc


def page_of(link: str) -> int:
    return int(parse_qs(urlsplit(link).query)["page"][0])


def walk(reference, client, api: str, stem: str, per_page: int, **filters) -> tuple[int, list]:
    """Every page of a list through the generated client, to the end: (count, raw rows)."""
    call = getattr(getattr(reference, api)(client), f"{stem}_get_with_http_info")
    page, rows, count = 1, [], None
    while True:
        answer = call(page=page, per_page=per_page, **filters)
        envelope = answer.data
        raw = json.loads(answer.raw_data)
        assert answer.status_code == 200
        assert envelope.items is None and isinstance(raw["results"], list)  # see ENVELOPE
        count = envelope.count if count is None else count
        assert envelope.count == count == raw["count"]
        assert envelope.previous == "" if page == 1 else page_of(envelope.previous) == page - 1
        rows += raw["results"]
        if envelope.next == "":
            return count, rows
        assert page_of(envelope.next) == page + 1
        page += 1


def key_of(path: str, row: dict) -> tuple:
    """Alerts list one row per alert and recipient."""
    return (row["id"], row["user_id"]) if path == "alerts" else (row["id"],)


def show(reference, client, api: str, stem: str, path: str, row: dict):
    """The record shown by id, as raw JSON (read with the generated models by the caller)."""
    target = getattr(reference, api)(client)
    if path == "alerts":
        answer = target.member_api_v3_alerts_show_id_user_id_get_without_preload_content(
            id=row["id"], user_id=row["user_id"]
        )
    else:
        answer = getattr(target, f"{stem}_show_id_get_without_preload_content")(id=row["id"])
    assert answer.status == 200, (path, row["id"], answer.data[:300])
    return json.loads(answer.data)


def test_member_client_walks_every_list_and_shows_every_record(reference, server, world):
    member = world["inst_user"]
    client, reader = api_client(reference, server, member), Reader(reference)
    for path, api, stem, row_model, show_model in RESOURCES:
        count, rows = walk(reference, client, api, stem, per_page=50)
        keys = [key_of(path, row) for row in rows]
        assert len(rows) == count == len(set(keys)) > 0, path
        for row in rows:
            assert row["institution_id"] == member.institution_id
            listed = reader.read(row_model, row, f"{path} {key_of(path, row)}")
            shown = reader.read(
                show_model,
                show(reference, client, api, stem, path, row),
                f"{path}/show/{row['id']}",
            )
            assert shown.id == row["id"]
            if show_model == row_model:
                assert shown.to_dict() == listed.to_dict(), path
    # What the specification's drift cost this client (SPEC_VALUE_DRIFT, SERVER_FIELDS).
    assert set(reader.drift) <= SPEC_VALUE_DRIFT
    assert reader.dropped["GenericFile"] == {"mtime"}


def test_sysadmin_client_walks_every_list_at_1000_per_page(reference, server, world):
    """Over every institution: lists of several thousand rows, in pages of 1000."""
    client, reader = api_client(reference, server, world["sysadmin"]), Reader(reference)
    pages = 0
    for path, api, stem, row_model, _ in RESOURCES:
        count, rows = walk(reference, client, api, stem, per_page=1000)
        assert len(rows) == count == len({key_of(path, row) for row in rows}) > 0, path
        pages += -(-count // 1000)
        for row in rows:
            reader.read(row_model, row, f"{path} {key_of(path, row)}")
    assert pages > len(RESOURCES)  # some lists took more than one page


def test_filters_through_the_generated_client(reference, server, world):
    """Its filter arguments as a script passes them: empty strings from a configuration
    (ignored), datetimes (which it writes `2000-01-01T00:00:00.000000+0000`, or without an
    offset when naive), and an id and a size that name nothing (no rows)."""
    client = api_client(reference, server, world["inst_user"])
    everything, _ = walk(
        reference, client, "IntellectualObjectsApi", "member_api_v3_objects", per_page=1000
    )
    empty = dict.fromkeys(
        [
            "access",
            "alt_identifier",
            "bag_group_identifier",
            "bagit_profile_identifier",
            "etag",
            "identifier",
            "identifier__starts_with",
            "internal_sender_identifier",
            "state",
            "storage_option",
        ],
        "",
    )
    assert (
        walk(
            reference,
            client,
            "IntellectualObjectsApi",
            "member_api_v3_objects",
            per_page=7,
            **empty,
        )[0]
        == everything
    )
    since = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    assert (
        walk(
            reference,
            client,
            "IntellectualObjectsApi",
            "member_api_v3_objects",
            per_page=1000,
            updated_at__gteq=since,
        )[0]
        == everything
    )
    assert (
        walk(
            reference,
            client,
            "IntellectualObjectsApi",
            "member_api_v3_objects",
            per_page=1000,
            updated_at__lteq=since.replace(tzinfo=None),
        )[0]
        == 0
    )
    assert (
        walk(
            reference,
            client,
            "IntellectualObjectsApi",
            "member_api_v3_objects",
            per_page=1000,
            size__lteq=-1,
        )[0]
        == 0
    )
    assert (
        walk(
            reference,
            client,
            "GenericFilesApi",
            "member_api_v3_files",
            per_page=1000,
            intellectual_object_id=0,
        )[0]
        == 0
    )
