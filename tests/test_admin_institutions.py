"""Admin API institution writes: create, update, deactivate.

Every test names its institutions and users after a token of its own and removes them at the
end (`scratch`): the session database is shared, and other modules count the demo's
institutions (e.g. exactly one subscription institution).
"""

from __future__ import annotations

import uuid

import pytest

from models.institution import Institution
from models.storage.db import connection, database
from models.user import ApiKey, User
from registry.spec import ADMIN_SPEC, load_spec
from tests.fixtures_api import assert_problem, error_names
from tests.test_cli import cli, fails, opened  # noqa: F401  (`cli`: a throw-away database)

BASE = "/admin-api/v3"
MEMBER = "/member-api/v3"
CREATE = f"{BASE}/institutions/create"
WRITES = {  # operationId -> (method, path, body)
    "create_institution": (
        "POST",
        CREATE,
        {"name": "Nobody Here", "identifier": "x.org", "type": "MemberInstitution"},
    ),
    "update_institution": ("PUT", f"{BASE}/institutions/update/2", {"name": "Renamed Inst"}),
    "deactivate_institution": ("DELETE", f"{BASE}/institutions/deactivate/2", None),
}


class Scratch:
    """Identifiers and e-mails unique to one test, and the removal of what they named."""

    def __init__(self):
        self.token = uuid.uuid4().hex[:10]

    def identifier(self, label: str = "inst") -> str:
        return f"{label}.t{self.token}.org"

    def email(self, label: str = "user") -> str:
        return f"{label}-{self.token}@example.edu"

    def purge(self) -> None:
        with connection(), database.atomic():
            institutions = [
                i
                for (i,) in Institution.select(Institution.id)
                .where(Institution.identifier.contains(self.token))
                .tuples()
            ]
            users = User.select(User.id).where(
                User.email.contains(self.token) | User.institution.in_(institutions)
            )
            ApiKey.delete().where(ApiKey.user.in_(users)).execute()
            User.delete().where(User.id.in_(users)).execute()
            Institution.update(member_institution=None).where(
                Institution.id.in_(institutions)
            ).execute()
            Institution.delete().where(Institution.id.in_(institutions)).execute()


@pytest.fixture
def scratch(app):
    made = Scratch()
    yield made
    made.purge()


def create(client, headers, **body):
    return client.post(CREATE, json=body, headers=headers)


def member(scratch, label="inst", **more) -> dict:
    return {
        "name": f"Member {label} College",
        "identifier": scratch.identifier(label),
        "type": "MemberInstitution",
        **more,
    }


def made(client, headers, body) -> dict:
    response = client.post(CREATE, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def institution_count() -> int:
    with connection():
        return Institution.select().count()


# --- create ----------------------------------------------------------------------------------


def test_create_member_answers_201_the_view_and_where_to_read_it(client, admin, scratch):
    identifier = scratch.identifier()
    response = create(
        client,
        admin,
        name="  Created College  ",
        identifier=identifier,
        type="MemberInstitution",
        otp_enabled=True,
        spot_restore_frequency=30,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"{BASE}/institutions/show/{body['id']}"
    assert body["name"] == "Created College"
    assert body["identifier"] == identifier
    assert (body["type"], body["state"], body["deactivated_at"]) == ("MemberInstitution", "A", None)
    assert body["receiving_bucket"] == f"aptrust.receiving.{identifier}"
    assert body["restore_bucket"] == f"aptrust.restore.{identifier}"
    assert (body["otp_enabled"], body["spot_restore_frequency"]) == (True, 30)
    assert body["parent_id"] is None and body["last_spot_restore_work_item_id"] is None
    shown = client.get(response.headers["location"], headers=admin)
    assert shown.json() == body
    listed = client.get(
        f"{BASE}/institutions", params={"identifier": identifier}, headers=admin
    ).json()
    assert listed["results"] == [body]


def test_defaults_of_a_new_institution(client, admin, scratch):
    body = made(client, admin, member(scratch))
    assert (body["otp_enabled"], body["spot_restore_frequency"]) == (False, 0)


def test_create_subscription_under_a_member(client, admin, scratch, world):
    parent = made(client, admin, member(scratch, "parent"))
    child = made(
        client,
        admin,
        {
            "name": "Child Library",
            "identifier": scratch.identifier("kid"),
            "type": "SubscriptionInstitution",
            "member_institution_id": parent["id"],
        },
    )
    assert child["type"] == "SubscriptionInstitution"
    assert (child["parent_id"], child["parent_identifier"], child["parent_state"]) == (
        parent["id"],
        parent["identifier"],
        "A",
    )
    subs = client.get(
        f"{BASE}/institutions", params={"parent_id": parent["id"]}, headers=admin
    ).json()["results"]
    assert [s["id"] for s in subs] == [child["id"]]


def test_a_new_institution_works_end_to_end_through_the_member_api(client, admin, scratch):
    """Created by the API, given a user and a key by the API, read by that user."""
    inst = made(client, admin, member(scratch))
    user = client.post(
        f"{BASE}/users/create",
        headers=admin,
        json={
            "name": "First User",
            "email": scratch.email(),
            "role": "institutional_user",
            "institution_id": inst["id"],
        },
    ).json()
    key = client.post(f"{BASE}/users/{user['id']}/keys", headers=admin).json()["key"]
    headers = {"X-Pharos-API-User": user["email"], "X-Pharos-API-Key": key}
    objects = client.get(f"{MEMBER}/objects", headers=headers)
    assert objects.status_code == 200, objects.text
    assert objects.json()["count"] == 0  # its own (empty) holdings, not anyone else's
    items = client.get(f"{MEMBER}/items", params={"institution_id": inst["id"]}, headers=headers)
    assert items.status_code == 200 and items.json()["count"] == 0


# 400: the schema refuses the body; 422: the schema accepts it, a rule of the registry does not.
@pytest.mark.parametrize(
    "change,fields,status",
    [
        ({"name": "Abcd"}, {"name"}, 400),
        ({"name": "x" * 201}, {"name"}, 400),
        ({"name": "   ab   "}, {"name"}, 422),  # 8 characters, but 2 once trimmed
        ({"identifier": "localhost"}, {"identifier"}, 400),
        ({"identifier": "Upper.Example.org"}, {"identifier"}, 400),
        ({"identifier": "under_score.org"}, {"identifier"}, 400),
        ({"identifier": "-lead.example.org"}, {"identifier"}, 400),
        ({"identifier": "dot..example.org"}, {"identifier"}, 400),
        ({"identifier": "a" * 64 + ".org"}, {"identifier"}, 422),  # a DNS label has 63 at most
        ({"type": "PartnerInstitution"}, {"type"}, 400),
        ({"type": None}, {"type"}, 400),
        ({"otp_enabled": "yes"}, {"otp_enabled"}, 400),
        ({"spot_restore_frequency": -1}, {"spot_restore_frequency"}, 400),
        ({"receiving_bucket": "mine"}, {"receiving_bucket"}, 400),  # derived, never sent
        ({"state": "D"}, {"state"}, 400),
        ({"member_institution_id": 2}, {"member_institution_id"}, 422),  # a member has no parent
        ({"name": "Abc", "identifier": "nodot", "type": "X"}, {"name", "identifier", "type"}, 400),
    ],
)
def test_create_names_every_offending_field(client, admin, scratch, change, fields, status):
    before = institution_count()
    body = assert_problem(create(client, admin, **{**member(scratch), **change}), status)
    assert error_names(body) == fields
    assert all(e["in"] == "body" for e in body["errors"])
    assert institution_count() == before


@pytest.mark.parametrize("missing", ["name", "identifier", "type"])
def test_create_requires_name_identifier_and_type(client, admin, scratch, missing):
    body = {k: v for k, v in member(scratch).items() if k != missing}
    assert error_names(assert_problem(create(client, admin, **body), 400)) == {missing}


def test_subscription_needs_a_parent(client, admin, scratch):
    body = assert_problem(
        create(
            client,
            admin,
            name="Orphan Library",
            identifier=scratch.identifier(),
            type="SubscriptionInstitution",
        ),
        422,
    )
    assert error_names(body) == {"member_institution_id"}


def test_parent_must_be_an_active_member(client, admin, scratch, world):
    parent = made(client, admin, member(scratch, "parent"))
    child = made(
        client,
        admin,
        {
            "name": "Child Library",
            "identifier": scratch.identifier("kid"),
            "type": "SubscriptionInstitution",
            "member_institution_id": parent["id"],
        },
    )
    for parent_id in (child["id"], world.institutions["aptrust.org"]):  # not MemberInstitutions
        body = assert_problem(
            create(
                client,
                admin,
                name="Grandchild Library",
                identifier=scratch.identifier("grandkid"),
                type="SubscriptionInstitution",
                member_institution_id=parent_id,
            ),
            422,
        )
        assert error_names(body) == {"member_institution_id"}
    client.delete(f"{BASE}/institutions/deactivate/{parent['id']}", headers=admin)
    body = assert_problem(
        create(
            client,
            admin,
            name="Late Library",
            identifier=scratch.identifier("late"),
            type="SubscriptionInstitution",
            member_institution_id=parent["id"],
        ),
        422,
    )
    assert "deactivated" in body["errors"][0]["message"]


def test_missing_parent_is_404_unless_other_fields_are_bad(client, admin, scratch):
    body = {
        "name": "Lost Library",
        "identifier": scratch.identifier(),
        "type": "SubscriptionInstitution",
        "member_institution_id": 2**31,
    }
    problem = assert_problem(create(client, admin, **body), 404)
    assert error_names(problem) == {"member_institution_id"}
    problem = assert_problem(create(client, admin, **{**body, "name": "Lost"}), 400)
    assert error_names(problem) == {"name"}


@pytest.mark.parametrize("identifier", ["example.edu", None])
def test_duplicate_identifier_is_409_and_leaves_nothing(client, admin, scratch, identifier):
    body = member(scratch)
    if identifier:
        body["identifier"] = identifier  # a demo institution's
    else:
        made(client, admin, body)
    before = institution_count()
    problem = assert_problem(create(client, admin, **{**body, "name": "Second Of Name"}), 409)
    assert error_names(problem) == {"identifier"}
    assert institution_count() == before


# --- update ----------------------------------------------------------------------------------


def update(client, headers, institution_id, **body):
    return client.put(f"{BASE}/institutions/update/{institution_id}", json=body, headers=headers)


def test_update_changes_only_the_fields_sent(client, admin, scratch):
    inst = made(client, admin, member(scratch, otp_enabled=True))
    response = update(
        client,
        admin,
        inst["id"],
        id=inst["id"],
        identifier=inst["identifier"],
        name="Renamed College",
        spot_restore_frequency=90,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["spot_restore_frequency"]) == ("Renamed College", 90)
    assert body["otp_enabled"] is True  # not sent, kept
    unchanged = {
        k: v for k, v in body.items() if k not in ("name", "spot_restore_frequency", "updated_at")
    }
    assert unchanged == {
        k: v for k, v in inst.items() if k not in ("name", "spot_restore_frequency", "updated_at")
    }
    assert body["updated_at"] >= inst["updated_at"]
    shown = client.get(f"{BASE}/institutions/show/{inst['identifier']}", headers=admin).json()
    assert shown == body
    body = update(client, admin, inst["id"], otp_enabled=False).json()
    assert (body["otp_enabled"], body["name"]) == (False, "Renamed College")


def test_update_moves_the_parent_with_the_type(client, admin, scratch):
    parent = made(client, admin, member(scratch, "parent"))
    inst = made(client, admin, member(scratch))
    body = update(
        client,
        admin,
        inst["id"],
        type="SubscriptionInstitution",
        member_institution_id=parent["id"],
    ).json()
    assert (body["type"], body["parent_id"]) == ("SubscriptionInstitution", parent["id"])
    body = update(client, admin, inst["id"], name="Still A Child").json()
    assert body["parent_id"] == parent["id"]  # untouched when not sent
    body = update(client, admin, inst["id"], type="MemberInstitution").json()
    assert (body["type"], body["parent_id"]) == ("MemberInstitution", None)


@pytest.mark.parametrize(
    "change,fields,status",
    [
        ({"identifier": "renamed.example.org"}, {"identifier"}, 422),
        ({"id": 1}, {"id"}, 422),
        ({"name": "Shrt"}, {"name"}, 400),
        ({"type": "SubscriptionInstitution"}, {"member_institution_id"}, 422),
        ({"member_institution_id": 2}, {"member_institution_id"}, 422),
        ({"members": 3}, {"members"}, 400),  # read-only fields are accepted (round trips)
        (
            {
                "identifier": "renamed.example.org",
                "id": 1,
                "name": "  Shrt  ",
                "type": "SubscriptionInstitution",
            },
            {"identifier", "id", "name", "member_institution_id"},
            422,
        ),  # every rule of the model
    ],
)
def test_update_names_every_offending_field_and_changes_nothing(
    client, admin, scratch, change, fields, status
):
    inst = made(client, admin, member(scratch))
    body = assert_problem(update(client, admin, inst["id"], **change), status)
    assert error_names(body) == fields
    assert client.get(f"{BASE}/institutions/show/{inst['id']}", headers=admin).json() == inst


def test_update_accepts_and_ignores_the_read_only_fields(client, admin, scratch):
    """An institution read from the API can be sent back (tests/test_round_trips.py); its
    read-only fields, even changed, change nothing (deactivation has its own operation)."""
    inst = made(client, admin, member(scratch))
    sent = {
        **inst,
        "state": "D",
        "deactivated_at": "2024-01-01T00:00:00Z",
        "created_at": "2024-01-01T00:00:00Z",
        "receiving_bucket": "elsewhere",
        "parent_id": 1,
        "name": "Renamed Read Only College",
    }
    body = update(client, admin, inst["id"], **sent).json()
    assert {**body, "updated_at": None} == {**inst, "name": sent["name"], "updated_at": None}


def test_update_refuses_loops_and_two_level_trees(client, admin, scratch):
    parent = made(client, admin, member(scratch, "parent"))
    made(
        client,
        admin,
        {
            "name": "Child Library",
            "identifier": scratch.identifier("kid"),
            "type": "SubscriptionInstitution",
            "member_institution_id": parent["id"],
        },
    )
    other = made(client, admin, member(scratch, "other"))
    # A member with subscription institutions must stay a member.
    body = assert_problem(
        update(
            client,
            admin,
            parent["id"],
            type="SubscriptionInstitution",
            member_institution_id=other["id"],
        ),
        422,
    )
    assert error_names(body) == {"type"}
    body = assert_problem(
        update(
            client,
            admin,
            other["id"],
            type="SubscriptionInstitution",
            member_institution_id=other["id"],
        ),
        422,
    )
    assert error_names(body) == {"member_institution_id"}


def test_update_of_a_missing_institution_or_parent_is_404(client, admin, scratch):
    assert_problem(update(client, admin, 2**31, name="Nobody At All"), 404)
    inst = made(client, admin, member(scratch))
    assert_problem(
        update(
            client, admin, inst["id"], type="SubscriptionInstitution", member_institution_id=2**31
        ),
        404,
    )


def test_update_with_a_malformed_id_or_body_is_400(client, admin):
    body = assert_problem(update(client, admin, "abc", name="Whatever Name"), 400)
    assert error_names(body) == {"id"}
    response = client.put(
        f"{BASE}/institutions/update/2",
        content=b"{not json",
        headers={**admin, "content-type": "application/json"},
    )
    assert_problem(response, 400)


# --- deactivate ------------------------------------------------------------------------------


def test_deactivate_stops_its_users_at_once(client, admin, scratch):
    inst = made(client, admin, member(scratch))
    user = client.post(
        f"{BASE}/users/create",
        headers=admin,
        json={
            "name": "Soon Gone",
            "email": scratch.email(),
            "role": "institutional_admin",
            "institution_id": inst["id"],
        },
    ).json()
    key = client.post(f"{BASE}/users/{user['id']}/keys", headers=admin).json()["key"]
    headers = {"X-Pharos-API-User": user["email"], "X-Pharos-API-Key": key}
    assert client.get(f"{MEMBER}/objects", headers=headers).status_code == 200

    response = client.delete(f"{BASE}/institutions/deactivate/{inst['id']}", headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["state"] == "D" and body["deactivated_at"] is not None
    assert client.get(f"{BASE}/institutions/show/{inst['id']}", headers=admin).json() == body
    assert_problem(client.get(f"{MEMBER}/objects", headers=headers), 401)
    # The user record itself is untouched: it is the institution that is off.
    shown = client.get(f"{BASE}/users/show/{user['id']}", headers=admin).json()
    assert shown["deactivated_at"] is None


def test_deactivated_parent_shows_in_its_subscriptions(client, admin, scratch):
    parent = made(client, admin, member(scratch, "parent"))
    child = made(
        client,
        admin,
        {
            "name": "Child Library",
            "identifier": scratch.identifier("kid"),
            "type": "SubscriptionInstitution",
            "member_institution_id": parent["id"],
        },
    )
    client.delete(f"{BASE}/institutions/deactivate/{parent['id']}", headers=admin)
    shown = client.get(f"{BASE}/institutions/show/{child['id']}", headers=admin).json()
    assert (shown["state"], shown["parent_state"]) == ("A", "D")
    assert shown["parent_deactivated_at"] is not None


def test_deactivate_twice_missing_or_the_operator_is_refused(client, admin, scratch, world):
    inst = made(client, admin, member(scratch))
    path = f"{BASE}/institutions/deactivate/{{}}"
    first = client.delete(path.format(inst["id"]), headers=admin).json()
    assert_problem(client.delete(path.format(inst["id"]), headers=admin), 409)
    assert client.get(f"{BASE}/institutions/show/{inst['id']}", headers=admin).json() == first
    assert_problem(client.delete(path.format(2**31), headers=admin), 404)
    assert_problem(client.delete(path.format("x"), headers=admin), 400)
    operator = world.institutions["aptrust.org"]
    assert_problem(client.delete(path.format(operator), headers=admin), 409)
    # ... and the sysadmins of the operator's institution still get in.
    assert client.get(f"{BASE}/institutions/show/{operator}", headers=admin).json()["state"] == "A"


# --- who may call ----------------------------------------------------------------------------


@pytest.mark.parametrize("operation", list(WRITES))
def test_writes_need_credentials(client, operation):
    method, path, body = WRITES[operation]
    assert_problem(client.request(method, path, json=body), 401)


@pytest.mark.parametrize("operation", list(WRITES))
@pytest.mark.parametrize("persona", ["inst_admin", "inst_user", "revoked"])
def test_member_keys_are_refused_and_nothing_changes(client, world, operation, persona):
    method, path, body = WRITES[operation]
    before = client.get(f"{BASE}/institutions/show/2", headers=world["sysadmin"].headers).json()
    status = 401 if persona == "revoked" else 403
    assert_problem(client.request(method, path, json=body, headers=world[persona].headers), status)
    after = client.get(f"{BASE}/institutions/show/2", headers=world["sysadmin"].headers).json()
    assert after == before


# --- the CLI shares the rules ----------------------------------------------------------------


def test_cli_create_applies_the_same_rules(cli):  # noqa: F811
    cli("db", "migrate")
    assert "name" in fails(
        cli, "institutions", "create", "--identifier", "ok.example.org", "--name", "Abc"
    )
    assert "identifier" in fails(
        cli, "institutions", "create", "--identifier", "No_Dots", "--name", "Bad Identifier College"
    )
    out = cli(
        "institutions", "create", "--identifier", "ok.example.org", "--name", "  Good College "
    ).out
    with opened():
        row = Institution.get_by_id(int(out))
    assert (row.name, row.receiving_bucket) == ("Good College", "aptrust.receiving.ok.example.org")


# --- the documents ---------------------------------------------------------------------------


@pytest.mark.parametrize("operation", list(WRITES))
def test_writes_are_fully_documented(operation):
    spec = load_spec(ADMIN_SPEC)
    op = next(
        op
        for item in spec["paths"].values()
        for m, op in item.items()
        if isinstance(op, dict) and op.get("operationId") == operation
    )
    assert op["summary"] and op["description"] and op["tags"] == ["Institutions"]
    assert {"400", "401", "403", "404"} <= set(op["responses"])
    assert "409" in op["responses"] or operation == "update_institution"
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    if body:
        name = body["schema"]["$ref"].rsplit("/", 1)[1]
        assert spec["components"]["schemas"][name]["additionalProperties"] is False
