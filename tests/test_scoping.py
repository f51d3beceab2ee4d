"""Institution scoping of objects and files, checked against the database itself.

A member must see exactly its own institution's rows, must not be able to tell another
institution's record from a missing one, and must be told (403), not silently given an empty
page, when it names another institution. Only the sysadmin sees across institutions.
"""

from __future__ import annotations

import re

import pytest

from models.generic_file import GenericFile
from models.institution import Institution
from models.intellectual_object import IntellectualObject
from models.storage.db import connection
from tests.fixtures_api import assert_problem, error_names

API = "/member-api/v3"
MEMBERS = ["inst_admin", "inst_user", "other_admin", "other_user", "sub_user", "museum_user"]
RESOURCES = {"objects": IntellectualObject, "files": GenericFile}


def db_count(model, institution_id: int | None = None) -> int:
    query = model.select()
    if institution_id is not None:
        query = query.where(model.institution == institution_id)
    with connection():
        return query.count()


def a_record(model, institution_id: int) -> tuple[int, str]:
    """(id, identifier) of one record of the institution."""
    with connection():
        row = (
            model.select(model.id, model.identifier)
            .where(model.institution == institution_id)
            .order_by(model.id)
            .first()
        )
    assert row is not None, f"the demo data has no {model.__name__} of {institution_id}"
    return row.id, row.identifier


@pytest.mark.parametrize("resource", list(RESOURCES))
@pytest.mark.parametrize("persona", MEMBERS)
def test_member_lists_only_its_own_institution(client, world, persona, resource):
    me = world[persona]
    response = client.get(f"{API}/{resource}", params={"per_page": 1000}, headers=me.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    expected = db_count(RESOURCES[resource], me.institution_id)
    assert expected > 0
    assert body["count"] == expected
    assert len(body["results"]) == min(expected, 1000)
    assert {r["institution_id"] for r in body["results"]} == {me.institution_id}


@pytest.mark.parametrize("resource", list(RESOURCES))
@pytest.mark.parametrize("persona", MEMBERS)
def test_filtering_on_own_institution_is_allowed(client, world, persona, resource):
    me = world[persona]
    response = client.get(
        f"{API}/{resource}", params={"institution_id": me.institution_id}, headers=me.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["count"] == db_count(RESOURCES[resource], me.institution_id)


@pytest.mark.parametrize("resource", list(RESOURCES))
@pytest.mark.parametrize(
    "persona,other",
    [
        ("inst_user", "test.edu"),
        ("inst_admin", "museum.org"),
        ("other_user", "example.edu"),
        ("sub_user", "example.edu"),
        ("inst_user", "library.example.edu"),
        ("museum_user", "aptrust.org"),
    ],
)
def test_filtering_on_another_institution_is_forbidden(client, world, persona, other, resource):
    response = client.get(
        f"{API}/{resource}",
        params={"institution_id": world.institutions[other]},
        headers=world[persona].headers,
    )
    body = assert_problem(response, 403)
    assert error_names(body) == {"institution_id"}


def _not_found_shape(body: dict, key: str) -> dict:
    """The body with the requested key (as a whole word, not inside `v3`) blanked out."""
    word = re.compile(rf"(?<![\w.]){re.escape(key)}(?![\w.])")
    return {k: (word.sub("<key>", v) if isinstance(v, str) else v) for k, v in body.items()}


@pytest.mark.parametrize("resource", list(RESOURCES))
@pytest.mark.parametrize(
    "persona,other",
    [
        ("inst_user", "test.edu"),
        ("other_admin", "example.edu"),
        ("sub_user", "example.edu"),
        ("inst_admin", "library.example.edu"),
        ("museum_user", "test.edu"),
    ],
)
@pytest.mark.parametrize("by", ["id", "identifier"])
def test_another_institutions_record_is_indistinguishable_from_a_missing_one(
    client, world, persona, other, resource, by
):
    model = RESOURCES[resource]
    record_id, identifier = a_record(model, world.institutions[other])
    hidden = str(record_id) if by == "id" else identifier
    missing = str(2**62 + record_id) if by == "id" else f"{other}/no-such-record-{record_id}"
    headers = world[persona].headers
    hidden_body = assert_problem(
        client.get(f"{API}/{resource}/show/{hidden}", headers=headers), 404
    )
    missing_body = assert_problem(
        client.get(f"{API}/{resource}/show/{missing}", headers=headers), 404
    )
    assert _not_found_shape(hidden_body, hidden) == _not_found_shape(missing_body, missing)
    # The owner does see it, so the 404 above is scoping, not a bad id.
    owner = client.get(f"{API}/{resource}/show/{hidden}", headers=world["sysadmin"].headers)
    assert owner.status_code == 200 and owner.json()["id"] == record_id


@pytest.mark.parametrize("resource", list(RESOURCES))
def test_sysadmin_sees_every_institution(client, world, resource):
    model = RESOURCES[resource]
    with connection():
        owners = {i for (i,) in model.select(model.institution).distinct().tuples()}
    assert len(owners) == 4  # the demo's four depositing institutions
    seen, rows, link = set(), 0, f"{API}/{resource}?per_page=1000"
    while link:
        body = client.get(link, headers=world["sysadmin"].headers).json()
        seen |= {r["institution_id"] for r in body["results"]}
        rows += len(body["results"])
        link = body["next"]
    assert body["count"] == rows == db_count(model)
    assert seen == owners


@pytest.mark.parametrize("resource", list(RESOURCES))
@pytest.mark.parametrize(
    "identifier", ["example.edu", "test.edu", "library.example.edu", "museum.org", "aptrust.org"]
)
def test_sysadmin_may_filter_on_any_institution(client, world, resource, identifier):
    inst = world.institutions[identifier]
    response = client.get(
        f"{API}/{resource}",
        params={"institution_id": inst, "per_page": 1000},
        headers=world["sysadmin"].headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == db_count(RESOURCES[resource], inst)
    assert all(r["institution_id"] == inst for r in body["results"])


@pytest.mark.parametrize("resource", list(RESOURCES))
@pytest.mark.parametrize(
    "persona,hidden", [("sub_user", "example.edu"), ("inst_user", "library.example.edu")]
)
def test_subscription_and_parent_do_not_see_each_other(client, world, persona, hidden, resource):
    model = RESOURCES[resource]
    headers = world[persona].headers
    hidden_id = world.institutions[hidden]
    listed = client.get(f"{API}/{resource}", params={"per_page": 1000}, headers=headers).json()
    assert hidden_id not in {r["institution_id"] for r in listed["results"]}
    record_id, identifier = a_record(model, hidden_id)
    for key in (record_id, identifier):
        assert_problem(client.get(f"{API}/{resource}/show/{key}", headers=headers), 404)


def test_parent_filter_does_not_reveal_subscription_objects(client, world):
    """`institution_parent_id` is a filter, not a grant: the parent still sees only its own."""
    parent = world["inst_user"]
    response = client.get(
        f"{API}/objects",
        params={"institution_parent_id": parent.institution_id},
        headers=parent.headers,
    )
    assert response.status_code == 200
    assert response.json()["count"] == 0
    with connection():
        subscribers = (
            Institution.select()
            .where(Institution.member_institution == parent.institution_id)
            .count()
        )
    assert subscribers > 0  # so the 0 above is scoping, not an empty join


def test_files_of_another_institutions_object_are_not_listed(client, world):
    object_id, _ = a_record(IntellectualObject, world.institutions["test.edu"])
    response = client.get(
        f"{API}/files",
        params={"intellectual_object_id": object_id},
        headers=world["inst_user"].headers,
    )
    assert response.status_code == 200
    assert response.json()["count"] == 0
    sysadmin = client.get(
        f"{API}/files",
        params={"intellectual_object_id": object_id},
        headers=world["sysadmin"].headers,
    )
    assert sysadmin.json()["count"] > 0
