"""`Location` headers come from the spec (registry/web/locations.py), never a hand-written path.

Each operation whose 201 declares a `Location` is called with the data layer stubbed out (its
`run_write` answers a record with a known id): the header must be the path of the API's show
operation for the record's type, the GET `/show/` operation whose 200 answers the schema the
201 answers. A handler holding a wrong template, or the wrong show operation, fails here.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import pathlib
import re

import pytest

from registry.settings import Settings
from registry.spec import ADMIN_SPEC, HTTP_METHODS, MEMBER_SPEC, load_spec, operation_paths
from registry.web.locations import Location

SPECS = {"member": MEMBER_SPEC, "admin": ADMIN_SPEC}
DOCUMENTS = {api: load_spec(path) for api, path in SPECS.items()}
HANDLERS = pathlib.Path(__file__).resolve().parent.parent / "handlers"
RECORD_ID = 4242


def _operations(document: dict):
    for path, item in document["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield method, path, item, item[method]


def _response(document: dict, operation: dict, status: str) -> dict:
    response = operation["responses"].get(status, {})
    ref = response.get("$ref")
    return document["components"]["responses"][ref.rsplit("/", 1)[-1]] if ref else response


def _schema(document: dict, operation: dict, status: str):
    content = _response(document, operation, status).get("content", {})
    return content.get("application/json", {}).get("schema")


def _show_path(document: dict, schema) -> str:
    """The full path of the one GET /show/ operation that answers `schema`."""
    base = document["servers"][0]["url"].rstrip("/")
    [path] = [
        base + path
        for method, path, _, operation in _operations(document)
        if method == "get" and "/show/" in path and _schema(document, operation, "200") == schema
    ]
    return path


def _created_with_location():
    for api, document in DOCUMENTS.items():
        for _, _, item, operation in _operations(document):
            if "Location" in _response(document, operation, "201").get("headers", {}):
                controller = (
                    operation.get("x-openapi-router-controller")
                    or item["x-openapi-router-controller"]
                )
                yield api, controller, operation


CREATED = list(_created_with_location())


def test_the_operations_answering_a_location_are_found():
    """The control of the test below: it covers every 201 that has a Location (13 today)."""
    assert len(CREATED) >= 13
    assert {"request_object_restore", "create_object", "init_batch_delete"} <= {
        operation["operationId"] for _, _, operation in CREATED
    }


@pytest.mark.parametrize(
    "api, controller, operation",
    CREATED,
    ids=[f"{api}-{op['operationId']}" for api, _, op in CREATED],
)
def test_a_201_location_is_the_path_of_the_show_operation_of_what_it_created(
    monkeypatch, api, controller, operation
):
    document = DOCUMENTS[api]
    expected = _show_path(document, _schema(document, operation, "201"))
    module = importlib.import_module(controller)

    async def run_write(function, *args):
        return {"id": RECORD_ID}

    monkeypatch.setattr(module, "run_write", run_write)
    handler = getattr(module, operation["operationId"])
    given = {"body": {}, "settings": Settings(batch_deletion_key="key")}
    arguments = {name: given.get(name, "1") for name in inspect.signature(handler).parameters}
    response = asyncio.run(handler(**arguments))
    assert response.status_code == 201
    assert response.headers["location"] == expected.replace("{id}", str(RECORD_ID))


def test_the_paths_read_without_bundling_are_the_bundled_documents_paths():
    for api, document in DOCUMENTS.items():
        base = document["servers"][0]["url"].rstrip("/")
        bundled = {
            operation["operationId"]: base + path for _, path, _, operation in _operations(document)
        }
        assert operation_paths(SPECS[api]) == bundled


def test_a_location_fills_every_path_parameter_from_the_record():
    show_alert = Location(ADMIN_SPEC, "show_alert")
    assert (
        show_alert.of({"id": 3, "user_id": 12, "subject": "x"}) == "/admin-api/v3/alerts/show/3/12"
    )
    assert Location(MEMBER_SPEC, "show_item").of({"id": 7}) == "/member-api/v3/items/show/7"
    assert (
        Location(MEMBER_SPEC, "show_object").of({"id": "a/b c"})
        == "/member-api/v3/objects/show/a%2Fb%20c"
    )


def test_an_operation_the_spec_does_not_have_fails_at_once():
    with pytest.raises(LookupError, match="show_widget"):
        Location(ADMIN_SPEC, "show_widget")
    with pytest.raises(LookupError, match="show_user"):
        Location(MEMBER_SPEC, "show_user")  # an admin operation only


def test_no_handler_writes_a_path_by_hand():
    """A path in a handler's source is a template the spec no longer governs."""
    literal = re.compile(r"""["'][^"']*(?:-api/v3|/show/)[^"']*["']""")
    found = {f.name: literal.findall(f.read_text()) for f in HANDLERS.glob("*.py")}
    assert {name: hits for name, hits in found.items() if hits} == {}
