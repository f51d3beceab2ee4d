"""Bad input answers 400 problem+json that names every offending parameter, never a 500.

A client that misspells a filter must learn so (not get an unfiltered page), and a client that
sends several bad parameters must learn about all of them in one round trip.
"""

from __future__ import annotations

import pytest

from tests.fixtures_api import assert_problem, error_names

OBJECTS, FILES = "/member-api/v3/objects", "/member-api/v3/files"

# (query, the parameter `errors` must name); each is wrong for both lists.
COMMON = [
    ("bogus=1", "bogus"),
    ("identifer=example.edu/bag-0001", "identifer"),
    ("page=0", "page"),
    ("page=abc", "page"),
    ("page=2147483648", "page"),
    ("per_page=0", "per_page"),
    ("per_page=-1", "per_page"),
    ("per_page=", "per_page"),  # empty: not a filter, so not ignored (the reference: all rows)
    ("per_page=all", "per_page"),
    ("per_page=9223372036854775808", "per_page"),
    ("page=", "page"),
    ("sort=", "sort"),
    ("bogus=", "bogus"),  # unknown, empty or not
    ("sort=bogus__asc", "sort"),
    ("sort=identifier__sideways", "sort"),
    ("sort=identifier__asc&sort=nope__desc", "sort"),
    ("created_at__gteq=yesterday", "created_at__gteq"),
    ("created_at__gteq=2024-13-01T00:00:00Z", "created_at__gteq"),
    ("updated_at__lteq=2024-02-30T00:00:00Z", "updated_at__lteq"),
    ("size__gteq=1.5", "size__gteq"),
    ("size__gteq=99999999999999999999", "size__gteq"),
    ("state=X", "state"),
    ("storage_option=Nowhere", "storage_option"),
    ("institution_id=abc", "institution_id"),
    ("institution_id=1.5", "institution_id"),
    ("institution_id=9223372036854775808", "institution_id"),
]
CASES = (
    [(OBJECTS, query, name) for query, name in COMMON]
    + [(FILES, query, name) for query, name in COMMON]
    + [
        (OBJECTS, "file_count__lteq=abc", "file_count__lteq"),
        (OBJECTS, "access=everyone", "access"),
        (OBJECTS, "storage_option__in=Standard", "storage_option__in"),
        (OBJECTS, "uuid=3f2c8a52-8d6e-4c1e-9b3a-2f4d5e6a7b8c", "uuid"),
        (FILES, "storage_option__in=Nowhere", "storage_option__in"),
        (FILES, "storage_option__in=Standard&storage_option__in=Nowhere", "storage_option__in"),
        (FILES, "intellectual_object_id=abc", "intellectual_object_id"),
        (FILES, "file_count__lteq=3", "file_count__lteq"),
    ]
)


@pytest.mark.parametrize("path,query,name", CASES)
def test_bad_parameter_is_named_in_a_400(client, world, path, query, name):
    response = client.get(f"{path}?{query}", headers=world["inst_user"].headers)
    body = assert_problem(response, 400)
    assert error_names(body) == {name}
    assert {e["in"] for e in body["errors"]} == {"query"}


@pytest.mark.parametrize(
    "path,query,names",
    [
        (
            OBJECTS,
            "page=0&per_page=abc&bogus=1&size__gteq=-1&state=X&sort=x__asc",
            {"page", "per_page", "bogus", "state", "sort"},
        ),
        (
            FILES,
            "uuid=nope&storage_option__in=Nowhere&identifier=&institution_id=abc&per_page=0",
            {"storage_option__in", "institution_id", "per_page"},
        ),
    ],
)
def test_every_bad_parameter_is_named_at_once(client, world, path, query, names):
    """Only the bad ones: values the reference accepts (a negative size, a text that is no
    UUID, an empty filter) are not named (tests/test_reference_inputs.py)."""
    body = assert_problem(client.get(f"{path}?{query}", headers=world["inst_user"].headers), 400)
    assert error_names(body) == names


@pytest.mark.parametrize("path", [OBJECTS, FILES])
def test_bad_parameters_are_rejected_for_the_sysadmin_too(client, world, path):
    body = assert_problem(
        client.get(f"{path}?per_page=0&institution_id=abc", headers=world["sysadmin"].headers), 400
    )
    assert error_names(body) == {"per_page", "institution_id"}


@pytest.mark.parametrize("resource", ["objects", "files"])
def test_empty_show_id_is_named_in_a_400(client, world, resource):
    response = client.get(f"/member-api/v3/{resource}/show/", headers=world["inst_user"].headers)
    body = assert_problem(response, 400)
    assert [(e["name"], e["in"]) for e in body["errors"]] == [("id", "path")]


@pytest.mark.parametrize(
    "path", ["/nope", "/member-api/v3/nope", "/member-api/v2/objects", "/member-api/v3/object"]
)
@pytest.mark.parametrize("authenticated", [True, False])
def test_unknown_path_is_a_404_problem(client, world, path, authenticated):
    headers = world["inst_user"].headers if authenticated else {}
    assert_problem(client.get(path, headers=headers), 404)


@pytest.mark.parametrize(
    "method,path",
    [
        ("POST", OBJECTS),
        ("PUT", OBJECTS),
        ("DELETE", FILES),
        ("POST", "/member-api/v3/objects/show/1"),
        ("PATCH", "/member-api/v3/files/show/1"),
    ],
)
def test_wrong_method_is_a_405_problem(client, world, method, path):
    response = client.request(method, path, headers=world["inst_user"].headers)
    assert_problem(response, 405)


# Connexion routes each operation on its own, and Starlette's 405 named only the methods of the
# first operation of the path: the live contract run (allow_header_conformance) found
# `Allow: POST` on /admin-api/v3/users/{id}/keys, which has DELETE too.
@pytest.mark.parametrize(
    "method,path,allowed",
    [
        ("OPTIONS", "/admin-api/v3/users/1/keys", {"GET", "HEAD", "POST", "DELETE"}),
        ("PATCH", "/admin-api/v3/users/1/keys", {"GET", "HEAD", "POST", "DELETE"}),
        ("PUT", "/member-api/v3/keys", {"GET", "HEAD", "POST"}),
        ("OPTIONS", "/admin-api/v3/users/1/keys/rgk_3q2-7wEr", {"DELETE"}),
        ("DELETE", OBJECTS, {"GET", "HEAD"}),
        ("OPTIONS", "/member-api/v3/objects/1/restore", {"POST"}),
    ],
)
def test_a_405_allows_every_method_of_the_path(client, world, method, path, allowed):
    response = client.request(method, path, headers=world["sysadmin"].headers)
    assert_problem(response, 405)
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed
