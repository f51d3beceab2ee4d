"""Batches of files: POST /files/create_batch/{institution_id}, all or nothing.

Also the compiled body check (registry.web.body_check) that lets a 10,000-file body through
without jsonschema's per-value cost: whatever it accepts, jsonschema must accept too.
"""

from __future__ import annotations

import copy
import uuid

import pytest
from connexion.json_schema import Draft4RequestValidator, resolve_refs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.checksum import Checksum
from models.generic_file import GenericFile
from models.intellectual_object import IntellectualObject
from models.premis_event import PremisEvent
from models.storage.db import connection, database
from models.storage_record import StorageRecord
from registry.spec import ADMIN_SPEC, load_spec
from registry.web.body_check import compile_schema
from registry.web.validation import format_checker
from tests.fixtures_api import assert_problem, error_names
from tests.test_admin_files import (
    ADMIN,
    MEMBER,
    SHA256,
    checksum_body,
    event_body,
    file_body,
    make_object,
)

BIG = 10_000


@pytest.fixture
def scratch(example_id):
    """Objects for batches, removed with everything recorded about their files afterwards:
    10,000 fresh rows would otherwise fill the first pages of every newest-first list that
    later tests read from the shared session database."""
    made = []

    def make(institution_id=example_id):
        obj = make_object(institution_id)
        made.append(obj.id)
        return obj

    yield make
    with connection(), database.atomic():
        files = GenericFile.select(GenericFile.id).where(GenericFile.intellectual_object.in_(made))
        for model in (Checksum, PremisEvent, StorageRecord):
            model.delete().where(model.generic_file.in_(files)).execute()
        GenericFile.delete().where(GenericFile.intellectual_object.in_(made)).execute()
        IntellectualObject.delete().where(IntellectualObject.id.in_(made)).execute()


def batch(objects, count, tag):
    """`count` files spread over `objects`, each with one sha256 checksum of its own."""
    return [
        file_body(
            objects[i % len(objects)],
            path=f"data/{tag}/f{i:05d}",
            size=i,
            checksums=[checksum_body(digest=f"{i:064x}")],
        )
        for i in range(count)
    ]


def post_batch(client, headers, institution_id, bodies):
    return client.post(f"{ADMIN}/files/create_batch/{institution_id}", json=bodies, headers=headers)


def member_get(client, world, path, **params):
    response = client.get(f"{MEMBER}/{path}", params=params, headers=world["inst_admin"].headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_ten_thousand_files_in_one_batch(client, world, admin, example_id, scratch):
    objects = [scratch(), scratch()]
    bodies = batch(objects, BIG, "big")
    response = post_batch(client, admin, example_id, bodies)
    assert response.status_code == 201, response.text[:2000]
    created = response.json()
    assert (created["count"], created["next"], created["previous"]) == (BIG, "", "")
    assert [r["identifier"] for r in created["results"]] == [b["identifier"] for b in bodies]
    assert [r["uuid"] for r in created["results"]] == [b["uuid"] for b in bodies]
    assert len({r["id"] for r in created["results"]}) == BIG

    for n, obj in enumerate(objects):
        sizes = range(n, BIG, 2)
        counts = member_get(client, world, f"objects/show/{obj.id}")
        assert (counts["file_count"], counts["size"]) == (len(sizes), sum(sizes))
        assert counts["payload_file_count"] == len(sizes)
        assert member_get(client, world, "files", intellectual_object_id=obj.id, per_page=1)[
            "count"
        ] == len(sizes)
        assert member_get(client, world, "checksums", intellectual_object_id=obj.id, per_page=1)[
            "count"
        ] == len(sizes)
    # Each file got its own checksum: spot-check one in the middle by identifier.
    middle = created["results"][5555]
    shown = member_get(client, world, f"files/show/{middle['id']}")
    assert shown["identifier"] == bodies[5555]["identifier"]
    assert [c["digest"] for c in shown["checksums"]] == [f"{5555:064x}"]
    assert shown["size"] == 5555


def _nothing_written(client, world, objects, bodies):
    for obj in objects:
        assert member_get(client, world, f"objects/show/{obj.id}")["file_count"] == 0
        assert member_get(client, world, "files", intellectual_object_id=obj.id)["count"] == 0
    for body in (bodies[0], bodies[len(bodies) // 2 - 1], bodies[-1]):
        response = client.get(
            f"{MEMBER}/files/show/{body['uuid']}", headers=world["inst_admin"].headers
        )
        assert response.status_code == 404


def test_a_conflict_in_the_middle_leaves_nothing(client, world, admin, example_id, scratch):
    stored = scratch()
    taken = file_body(stored, path="data/taken")
    assert post_batch(client, admin, example_id, [taken]).status_code == 201
    objects = [scratch(), scratch()]
    bodies = batch(objects, BIG, "conflict")
    # Found only by the database, once the rows before it were written.
    bodies[5000] = {**bodies[5000], "uuid": taken["uuid"]}
    problem = assert_problem(post_batch(client, admin, example_id, bodies), 409)
    assert error_names(problem) == {"[5000].uuid"}
    _nothing_written(client, world, objects, bodies)
    assert member_get(client, world, f"objects/show/{stored.id}")["file_count"] == 1


def test_a_bad_row_in_the_middle_leaves_nothing(client, world, admin, example_id, scratch):
    objects = [scratch()]
    bodies = batch(objects, BIG, "bad")
    bodies[4321]["checksums"][0]["algorithm"] = "crc32"
    problem = assert_problem(post_batch(client, admin, example_id, bodies), 400)
    assert error_names(problem) == {"[4321].checksums[0].algorithm"}
    # A rule beyond the schema, found in Python before anything is written.
    bodies[4321]["checksums"][0]["algorithm"] = "md5"
    bodies[7000]["identifier"] = "example.edu/elsewhere/data/x"
    problem = assert_problem(post_batch(client, admin, example_id, bodies), 422)
    assert error_names(problem) == {"[4321].checksums[0].digest", "[7000].identifier"}
    _nothing_written(client, world, objects, bodies)


def test_a_nul_anywhere_in_a_batch_is_named_and_a_lookalike_is_not(
    client, world, admin, example_id, scratch
):
    """The U+0000 walk is skipped for a UTF-8 body without the escape `\\u0000`
    (registry/web/validation.py): a NUL deep in a batch is still found, and text that merely spells
    the escape (a backslash, then `u0000`) is stored as it is."""
    objects = [scratch()]
    bodies = batch(objects, 50, "nul")
    bodies[37]["file_format"] = "text/plain\x00"
    problem = assert_problem(post_batch(client, admin, example_id, bodies), 422)
    assert error_names(problem) == {"[37].file_format"}
    _nothing_written(client, world, objects, bodies)
    bodies[37]["file_format"] = "text/plain"
    bodies[12]["file_format"] = "text/\\u0000-lookalike"
    response = post_batch(client, admin, example_id, bodies)
    assert response.status_code == 201, response.text[:2000]
    shown = member_get(client, world, f"files/show/{bodies[12]['identifier']}")
    assert shown["file_format"] == "text/\\u0000-lookalike"


def test_batch_rules(client, world, admin, example_id, scratch):
    mine, theirs = scratch(), scratch(world.institutions["test.edu"])
    good = file_body(mine, path="data/a")
    cases = [
        ([], 400, {""}),
        ([{**good, "institution_id": example_id + 1}], 422, {"[0].institution_id"}),
        ([good, file_body(theirs)], 422, {"[1].intellectual_object_id"}),
        (
            [good, {**file_body(mine), "intellectual_object_id": 99999999}],
            404,
            {"[1].intellectual_object_id"},
        ),
        ([good, {**file_body(mine), "identifier": good["identifier"]}], 409, {"[1].identifier"}),
        ([good, file_body(mine, path="data/b", uuid=good["uuid"].upper())], 409, {"[1].uuid"}),
    ]
    event = event_body()
    cases.append(
        (
            [
                file_body(mine, path="data/c", premis_events=[event]),
                file_body(mine, path="data/d", premis_events=[event]),
            ],
            409,
            {"[1].premis_events[0].identifier"},
        )
    )
    for bodies, status, names in cases:
        problem = assert_problem(post_batch(client, admin, example_id, bodies), status)
        assert error_names(problem) == names, bodies
    assert member_get(client, world, f"objects/show/{mine.id}")["file_count"] == 0
    too_many = assert_problem(post_batch(client, admin, example_id, [{}] * (BIG + 1)), 400)
    assert any("too long" in e["message"] for e in too_many["errors"])


def test_a_batch_of_bad_rows_names_the_first_hundred(client, admin, example_id, scratch):
    obj = scratch()
    bodies = batch([obj], 300, "many")
    for body in bodies:
        body["identifier"] = "example.edu/elsewhere/" + body["uuid"]
    problem = assert_problem(post_batch(client, admin, example_id, bodies), 422)
    assert error_names(problem) == {f"[{i}].identifier" for i in range(100)}
    assert problem["detail"].endswith("and 200 more")


def test_batch_of_one_with_every_kind_of_record(client, world, admin, example_id, scratch):
    obj = scratch()
    body = file_body(
        obj,
        checksums=[checksum_body()],
        premis_events=[event_body()],
        storage_records=[{"url": "https://s3.example.org/va/1"}],
    )
    response = post_batch(client, admin, example_id, [body])
    assert response.status_code == 201, response.text
    [entry] = response.json()["results"]
    assert entry == {"id": entry["id"], "identifier": body["identifier"], "uuid": body["uuid"]}
    shown = member_get(client, world, f"files/show/{entry['id']}")
    assert [c["digest"] for c in shown["checksums"]] == [SHA256]
    assert [e["identifier"] for e in shown["premis_events"]] == [
        body["premis_events"][0]["identifier"]
    ]
    assert [s["url"] for s in shown["storage_records"]] == ["https://s3.example.org/va/1"]


# -- the compiled body check agrees with jsonschema ------------------------------------------


def _seed(operation_id: str, schema: dict):
    """A body to mutate: ours, else the schema's example (other areas' operations)."""
    if operation_id in SEEDS:
        return SEEDS[operation_id]
    parts = [schema, *schema.get("allOf", [])]
    return next((p["example"] for p in parts if "example" in p), {})


def _request_schemas() -> dict:
    spec = resolve_refs(load_spec(ADMIN_SPEC))
    schemas = {}
    for item in spec["paths"].values():
        for operation in item.values():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                # As Connexion hands it to the validator: components attached.
                schemas[operation["operationId"]] = {
                    **content["application/json"]["schema"],
                    "components": spec["components"],
                }
    return schemas


SCHEMAS = _request_schemas()
FILE = {
    "identifier": "example.edu/bag/data/f",
    "intellectual_object_id": 1,
    "institution_id": 2,
    "file_format": "text/plain",
    "size": 3,
    "state": "A",
    "uuid": str(uuid.uuid4()),
    "storage_option": "Standard",
    "mtime": None,
    "last_fixity_check": "2024-01-01T00:00:00Z",
    "checksums": [checksum_body(generic_file_id=None)],
    "premis_events": [event_body(generic_file_id=0, old_uuid=None)],
    "storage_records": [{"url": "https://s3.example.org/x", "id": 0}],
}
SEEDS = {
    "create_file": FILE,
    "update_file": FILE,
    "create_file_batch": [FILE, FILE],
    "create_checksum": checksum_body(generic_file_id=1),
    "create_storage_record": {"url": "https://s3.example.org/x", "generic_file_id": 1},
    "create_event": event_body(institution_id=2, intellectual_object_id=1, generic_file_id=None),
}
ODD_VALUES = [
    None,
    0,
    -1,
    1,
    1.5,
    True,
    "",
    " ",
    "x",
    "A",
    "md5",
    "Standard",
    [],
    {},
    "2024-01-01T00:00:00Z",
    "2024-13-01T00:00:00Z",
    str(uuid.uuid4()),
    "a" * 64,
]


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, prefix + (index,))


def _replaced(value, path, new):
    copied = copy.deepcopy(value)
    if not path:
        return new
    node = copied
    for part in path[:-1]:
        node = node[part]
    if new is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = new
    return copied


_DELETE = object()


def _agree(schema, value):
    check = compile_schema(schema, format_checker)
    expected = not any(
        True
        for _ in Draft4RequestValidator(schema, format_checker=format_checker).iter_errors(value)
    )
    assert check(value) == expected, value


@pytest.mark.parametrize("operation_id", sorted(SCHEMAS))
def test_compiled_check_agrees_with_jsonschema_on_mutations(operation_id):
    schema = SCHEMAS[operation_id]
    if compile_schema(schema, format_checker) is None:
        pytest.skip(f"{operation_id}: its schema is validated by jsonschema alone")
    seed = _seed(operation_id, schema)
    _agree(schema, seed)
    for path in list(_paths(seed)):
        for new in [*ODD_VALUES, _DELETE] if path else ODD_VALUES:
            _agree(schema, _replaced(seed, path, new))
    for path in _paths(seed):
        node = seed
        for part in path:
            node = node[part]
        if isinstance(node, dict):
            _agree(schema, _replaced(seed, path + ("unknown_field",), 1))


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=False)
    | st.sampled_from(ODD_VALUES[6:])
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_compiled_check_agrees_with_jsonschema_on_random_values(data):
    operation_id = data.draw(st.sampled_from(sorted(SCHEMAS)))
    schema = SCHEMAS[operation_id]
    if compile_schema(schema, format_checker) is None:
        return
    seed = _seed(operation_id, schema)
    path = data.draw(st.sampled_from(list(_paths(seed))))
    _agree(schema, _replaced(seed, path, data.draw(JSON)))
