"""Drift guard: the server, the list engine and the permission table say what the specs say.

- every route the app serves is an operation of one of the two published specs (apart from the
  documentation routes and health probes listed in NOT_OPERATIONS), and every spec operation
  is routed;
- every `Listing` of models/ that backs a list operation accepts exactly the query parameters and
  `sort` values that operation declares, no more and no fewer;
- registry/web/authz.py's permission table names exactly the specs' operationIds.

Each side can drift on its own (a filter added to a Listing but not to the spec is accepted by
nobody: strict validation rejects it first; a sort value in the spec but not in the Listing
answers 400), so every comparison is an equality, reported both ways.
"""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest
from connexion.middleware.routing import RoutingOperation
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

import handlers
import models
from models.alert import ALERTS
from models.checksum import CHECKSUM_RECORDS, CHECKSUMS
from models.deletion_request import DELETIONS
from models.file_views import FILE_RECORDS, FILES
from models.identity import KEYS
from models.institution import INSTITUTIONS
from models.intellectual_object import OBJECTS
from models.premis_event import EVENT_RECORDS, EVENTS
from models.storage.query import PAGING, Listing
from models.storage_record import STORAGE_RECORDS
from models.user import USERS
from models.work_item import ITEMS
from registry.spec import ADMIN_SPEC, HTTP_METHODS, MEMBER_SPEC, load_spec, published
from registry.web.authz import PERMISSIONS, SYSADMIN

SPECS = {"member": published(load_spec(MEMBER_SPEC)), "admin": published(load_spec(ADMIN_SPEC))}

# Served, on purpose, by no operation: the published documents and Swagger UI (its pages and
# its static files). Listed exactly, so that a route added here unnoticed fails the test too.
NOT_OPERATIONS = {
    ("GET", "/openapi.json"),
    ("GET", "/openapi.yaml"),
    ("GET", "/admin-api/v3/openapi.json"),
    ("GET", "/admin-api/v3/openapi.yaml"),
    ("GET", "/docs"),
    ("GET", "/docs/"),
    ("GET", "/docs/index.html"),
    ("MOUNT", "/docs"),
    ("GET", "/admin-api/v3/docs"),
    ("GET", "/admin-api/v3/docs/"),
    ("GET", "/admin-api/v3/docs/index.html"),
    ("MOUNT", "/admin-api/v3/docs"),
    ("GET", "/redoc"),
    ("GET", "/redoc/"),
    ("GET", "/redoc/redoc.standalone.js"),
    ("GET", "/admin-api/v3/redoc"),
    ("GET", "/admin-api/v3/redoc/"),
    ("GET", "/admin-api/v3/redoc/redoc.standalone.js"),
    # The health probes (registry/web/probes.py), outside both APIs and their auth.
    ("GET", "/livez"),
    ("GET", "/readyz"),
    # The changelog that deprecation notices link to (registry/web/deprecation.py).
    ("GET", "/changelog"),
}

# The Listing behind each list operation (the same operationId in both specs where both have it).
LIST_OPERATIONS = {
    "list_objects": OBJECTS,
    "list_files": FILES,
    "list_checksums": CHECKSUMS,
    "list_events": EVENTS,
    "list_items": ITEMS,
    "list_deletions": DELETIONS,
    "list_alerts": ALERTS,
    "list_institutions": INSTITUTIONS,
    "list_storage_records": STORAGE_RECORDS,
    "list_users": USERS,
    "list_keys": KEYS,
    "list_api_keys": KEYS,
}

# Filters a handler sets itself and no request may: the owner of the keys listed (the caller at
# GET /member-api/v3/keys, the path's user at GET /admin-api/v3/users/{id}/keys). The specs
# leave them out, so strict validation refuses them as query parameters (400).
SET_BY_HANDLER = {"list_keys": {"user_id"}, "list_api_keys": {"user_id"}}

# Listings that back no list operation, so no query parameter reaches them. show_file reads
# FILE_RECORDS by id or identifier and nests EVENT_RECORDS, CHECKSUM_RECORDS and
# STORAGE_RECORDS rows of the file through `Listing.related`, which applies none of the
# declared filters or sorts.
NOT_LISTED = {
    "FILE_RECORDS": FILE_RECORDS,
    "EVENT_RECORDS": EVENT_RECORDS,
    "CHECKSUM_RECORDS": CHECKSUM_RECORDS,
}


def _spec_operations() -> dict[tuple[str, str], str]:
    """(METHOD, full path) -> operationId, over both specs (paths prefixed by the server URL)."""
    operations = {}
    for document in SPECS.values():
        base = document["servers"][0]["url"].rstrip("/")
        for path, item in document["paths"].items():
            for method in HTTP_METHODS:
                if method in item:
                    operations[(method.upper(), base + path)] = item[method]["operationId"]
    return operations


def _walk(routes, prefix: str, operations: dict, others: set) -> None:
    for route in routes:
        path = re.sub(r":\w+}", "}", prefix + route.path)  # `{id:path}` -> `{id}`
        if isinstance(route, Mount):
            if isinstance(route.app, StaticFiles):
                others.add(("MOUNT", path))
            else:
                _walk(route.routes, path, operations, others)
        elif isinstance(route, Route):
            for method in sorted(route.methods - {"HEAD"}):
                if isinstance(route.endpoint, RoutingOperation):
                    operations[(method, path)] = route.endpoint.operation_id
                else:
                    others.add((method, path))
        else:
            others.add((type(route).__name__, path))


@pytest.fixture(scope="module")
def served(app):
    """Every route of the running app: (operations by (METHOD, path), everything else)."""
    # Connexion builds its middleware stack, and with it the routers, on the first request.
    assert app.test_client().get("/openapi.json").status_code == 200
    operations, others = {}, set()
    for layer in app.middleware.middleware_stack:
        router = getattr(layer, "router", None)
        if router is not None:
            _walk(router.routes, "", operations, others)
    return operations, others


def test_the_routes_that_are_not_operations_are_exactly_the_documentation(served):
    _, others = served
    assert others - NOT_OPERATIONS == set(), "routes served outside both specs"
    assert NOT_OPERATIONS - others == set(), "NOT_OPERATIONS lists routes that are gone"


def test_every_served_operation_is_in_a_spec_and_every_spec_operation_is_routed(served):
    routed, spec = served[0], _spec_operations()
    assert {k: v for k, v in routed.items() if spec.get(k) != v} == {}, "served, not in a spec"
    assert {k: v for k, v in spec.items() if routed.get(k) != v} == {}, "in a spec, not routed"


def _example(path: str) -> str:
    return re.sub(r"{\w+}", "1", path)


@pytest.mark.parametrize(
    "method, path",
    sorted(_spec_operations()),
    ids=[f"{m} {p}" for m, p in sorted(_spec_operations())],
)
def test_every_spec_operation_answers_without_a_routing_error(app, method, path):
    """Without credentials a routed operation answers 401 (security runs after routing,
    before validation); a path or method no operation has answers 404 or 405 instead."""
    response = app.test_client().request(method, _example(path))
    assert response.status_code == 401, (response.status_code, response.text[:200])
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "method, path, status",
    [
        ("GET", "/member-api/v3/no_such_list", 404),
        ("POST", "/member-api/v3/objects", 405),
        ("GET", "/admin-api/v3/no_such_list", 404),
        ("PATCH", "/admin-api/v3/objects/update/1", 405),
    ],
)
def test_an_unrouted_request_is_told_apart_from_a_routed_one(app, method, path, status):
    """The control for the test above: what an unknown route answers."""
    assert app.test_client().request(method, path).status_code == status


def _declared_listings() -> dict[str, Listing]:
    """Every module-level Listing of the models package, by the name it is declared under."""
    found = {}
    for info in pkgutil.iter_modules(models.__path__):
        module = importlib.import_module(f"models.{info.name}")
        for name, value in vars(module).items():
            if isinstance(value, Listing) and found.setdefault(name, value) is not value:
                raise AssertionError(f"two different Listings named {name}")
    return found


def test_every_listing_is_accounted_for():
    declared = _declared_listings()
    accounted = {id(v) for v in [*LIST_OPERATIONS.values(), *NOT_LISTED.values()]}
    assert sorted(n for n, v in declared.items() if id(v) not in accounted) == [], (
        "a new Listing: map it to its list operation in LIST_OPERATIONS, "
        "or explain it in NOT_LISTED"
    )


@pytest.mark.parametrize("name", sorted(NOT_LISTED))
def test_a_listing_behind_no_list_operation_is_out_of_the_handlers_reach(name):
    """No handler holds it, so no request's query parameters can reach its filters."""
    for info in pkgutil.iter_modules(handlers.__path__):
        module = importlib.import_module(f"handlers.{info.name}")
        assert all(value is not NOT_LISTED[name] for value in vars(module).values()), info.name


def _parameters(document: dict, item: dict, operation: dict) -> list[dict]:
    def resolve(parameter):
        ref = parameter.get("$ref")
        return document["components"]["parameters"][ref.rsplit("/", 1)[-1]] if ref else parameter

    return [resolve(p) for p in [*item.get("parameters", []), *operation.get("parameters", [])]]


def _list_operations():
    """(api, operationId, query parameters by name) for each LIST_OPERATIONS entry in each spec."""
    for api, document in SPECS.items():
        for item in document["paths"].values():
            for method in HTTP_METHODS:
                operation = item.get(method)
                if operation and operation["operationId"] in LIST_OPERATIONS:
                    query = {
                        p["name"]: p
                        for p in _parameters(document, item, operation)
                        if p["in"] == "query"
                    }
                    yield api, operation["operationId"], query


LISTS = list(_list_operations())


def test_every_list_operation_is_found_in_the_specs():
    assert {operation_id for _, operation_id, _ in LISTS} == set(LIST_OPERATIONS)


@pytest.mark.parametrize(
    "api, operation_id, query", LISTS, ids=[f"{api}-{op}" for api, op, _ in LISTS]
)
def test_list_filters_equal_the_query_parameters(api, operation_id, query):
    listing = LIST_OPERATIONS[operation_id]
    in_spec = set(query) - set(PAGING)
    in_listing = listing.filter_params() - SET_BY_HANDLER.get(operation_id, set())
    assert sorted(in_spec - in_listing) == [], "in the spec, not filtered by the Listing"
    assert sorted(in_listing - in_spec) == [], "filtered by the Listing, not in the spec"
    assert {"page", "per_page", "sort"} <= set(query), "a list operation pages and sorts"


@pytest.mark.parametrize(
    "api, operation_id, query", LISTS, ids=[f"{api}-{op}" for api, op, _ in LISTS]
)
def test_every_filter_and_only_a_filter_may_be_sent_empty(api, operation_id, query):
    """An empty filter value is ignored, as the reference server ignores it: the spec says so
    with `allowEmptyValue`, and registry/web/uri_parser.py acts on exactly that. `page`,
    `per_page` and `sort` sent empty stay a 400."""
    filters = {name for name in query if name not in PAGING}
    assert sorted(n for n in filters if query[n].get("allowEmptyValue") is not True) == []
    assert sorted(n for n in PAGING if "allowEmptyValue" in query[n]) == []


def test_list_links_are_strings_never_null():
    """The envelope's `next` and `previous` are `""` at either end (the reference's wire form)."""
    for document in SPECS.values():
        links = document["components"]["schemas"]["ListEnvelope"]["properties"]
        for name in ("next", "previous"):
            assert links[name]["type"] == "string" and not links[name].get("nullable"), name


@pytest.mark.parametrize(
    "api, operation_id, query", LISTS, ids=[f"{api}-{op}" for api, op, _ in LISTS]
)
def test_list_sorts_equal_the_sort_enum(api, operation_id, query):
    listing = LIST_OPERATIONS[operation_id]
    schema = query["sort"]["schema"]
    in_spec = set(schema["items"]["enum"])
    in_listing = set(listing.sort_values())
    assert sorted(in_spec - in_listing) == [], "sort value in the spec, not in the Listing"
    assert sorted(in_listing - in_spec) == [], "sort value of the Listing, not in the spec"
    # A column counts once however often it is repeated, so no more keys than columns.
    assert schema.get("maxItems") == len(listing.sorts), "sort maxItems is not the column count"


def test_the_permission_table_names_exactly_the_spec_operations():
    in_specs = set(_spec_operations().values())
    assert sorted(in_specs - set(PERMISSIONS)) == [], "operations without a permission entry"
    assert sorted(set(PERMISSIONS) - in_specs) == [], "permission entries for no operation"


def test_operations_only_the_admin_api_has_are_sysadmin_only():
    member = {
        op["operationId"]
        for item in SPECS["member"]["paths"].values()
        for method, op in item.items()
        if method in HTTP_METHODS
    }
    admin_only = set(_spec_operations().values()) - member
    assert sorted(o for o in admin_only if PERMISSIONS[o] != SYSADMIN) == []
