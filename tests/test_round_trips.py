"""Every record read from the admin API can be sent back unchanged to its update operation: it
answers 200 and nothing changes but `updated_at` (README, "The admin API").

A property over records of every shape the registry holds: made through the admin API from
drawn bodies (optional fields absent, null or set), made by the registry itself (restore items
of an object without an etag, Delete items of an approved request, the operator's institution,
which has no type), and drawn from every record stored already (the demo data and what earlier
tests stored). Before the fix a restore item with `etag: ""` answered 400, and so did every
institution (its read-only fields were refused).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import uuid
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from models.generic_file import GenericFile
from models.institution import Institution
from models.intellectual_object import IntellectualObject
from models.storage.db import connection, database
from models.storage.query import parse_datetime
from models.work_item import WorkItem
from registry.spec import ADMIN_SPEC, load_spec
from tests.deletion_setup import approve_deletion
from tests.listing_rows import Scratch

ADMIN = "/admin-api/v3"
MEMBER = "/member-api/v3"
# Each admin update operation, by the collection its records are read from.
UPDATES = {
    "institutions": "update_institution",
    "objects": "update_object",
    "files": "update_file",
    "items": "update_work_item",
}
# Shrinking an example of four requests' bodies can take minutes: off unless
# REGISTRY_TEST_SHRINK=1 (the failing example is printed either way).
PHASES = [p for p in Phase if p != Phase.shrink or os.environ.get("REGISTRY_TEST_SHRINK") == "1"]
SETTINGS = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    phases=PHASES,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
_serial = itertools.count(1)


MODELS = {
    "institutions": Institution,
    "objects": IntellectualObject,
    "files": GenericFile,
    "items": WorkItem,
}


def round_trip(client, admin, kind: str, record_id: int) -> dict:
    """Read the record, send it back, read it again; the record as it was before."""
    before = client.get(f"{ADMIN}/{kind}/show/{record_id}", headers=admin)
    assert before.status_code == 200, before.text
    before = before.json()
    answer = client.put(f"{ADMIN}/{kind}/update/{record_id}", json=before, headers=admin)
    assert answer.status_code == 200, (kind, before, answer.text)
    after = client.get(f"{ADMIN}/{kind}/show/{record_id}", headers=admin).json()
    for record in (answer.json(), after):
        assert {**record, "updated_at": None} == {**before, "updated_at": None}, kind
    return before


@pytest.fixture(scope="module")
def home(client):
    """An institution of the module's own with its staff, and the institutions the tests
    create: removed with all their rows at the end (other modules count the demo data)."""
    with Scratch() as scratch:
        with connection(), database.atomic():
            staff = scratch.staff()
        made: list[int] = []
        yield SimpleNamespace(**vars(staff), id=staff.id, made_institutions=made)
        scratch.institution_ids[:0] = made  # children (subscriptions) before their parent


def _schemas() -> dict:
    return load_spec(ADMIN_SPEC)["components"]["schemas"]


def enum(name: str):
    return st.sampled_from(_schemas()[name]["enum"])


def text(max_size: int = 40):
    return st.text(
        st.characters(min_codepoint=32, max_codepoint=0x2FF), min_size=1, max_size=max_size
    ).filter(lambda t: t.strip())


_ABSENT, _NULL = object(), object()


def body_of(draw, schema: str, required: dict, optional: dict) -> dict:
    """`required`, and each optional field absent, null (where the create schema allows it)
    or drawn from its strategy."""
    properties = _schemas()[schema]["properties"]
    body = dict(required)
    for name, strategy in optional.items():
        nulls = [_NULL] if properties[name].get("nullable") else []
        value = draw(st.one_of(st.sampled_from([_ABSENT, *nulls]), strategy))
        if value is _NULL:
            body[name] = None
        elif value is not _ABSENT:
            body[name] = value
    return body


TIMES = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2030, 1, 1)).map(
    lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
)


# Any text is a profile to the API; these two are the ones real bags name.
PROFILES = [
    "https://github.com/dpscollaborative/btr_bagit_profile/releases/download/1.0/"
    "btr-bagit-profile.json",
    "https://raw.githubusercontent.com/APTrust/preservation-services/master/profiles/"
    "aptrust-v2.2.json",
]

EMAILS = st.sampled_from(["admin@example.edu", "user@example.edu"])


@st.composite
def object_bodies(draw, home):
    identifier = f"{home.institution.identifier}/rt-{uuid.uuid4().hex[:10]}-{next(_serial)}"
    return body_of(
        draw,
        "ObjectCreate",
        {"title": draw(text()), "identifier": identifier},
        {
            "description": text(200),
            "alt_identifier": text(),
            "access": enum("Access"),
            "etag": st.text("0123456789abcdef", min_size=32, max_size=32),
            "bag_group_identifier": text(),
            "storage_option": enum("StorageOption"),
            "bagit_profile_identifier": st.one_of(st.sampled_from(PROFILES), text()),
            "source_organization": text(),
            "internal_sender_identifier": text(),
            "internal_sender_description": text(200),
        },
    )


@st.composite
def file_bodies(draw, obj: dict):
    algorithms = draw(st.lists(enum("ChecksumAlgorithm"), max_size=2, unique=True))
    width = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}
    return body_of(
        draw,
        "FileFields",
        {
            "identifier": f"{obj['identifier']}/{draw(st.sampled_from(['data/', '']))}f-"
            f"{next(_serial)}.txt",
            "intellectual_object_id": obj["id"],
            "file_format": draw(text(30)),
            "size": draw(st.integers(0, 10**12)),
            "uuid": str(uuid.uuid4()),
        },
        {
            "last_fixity_check": TIMES,
            "mtime": TIMES,
            "checksums": st.just(
                [
                    {"algorithm": a, "datetime": "2024-05-01T12:00:00Z", "digest": "a" * width[a]}
                    for a in algorithms
                ]
            ),
            "storage_records": st.just([{"url": f"https://s3.example.org/{uuid.uuid4()}"}]),
        },
    )


@st.composite
def item_bodies(draw, object_ids: list[int]):
    return body_of(
        draw,
        "WorkItemCreate",
        {
            "name": draw(text()),
            "etag": draw(st.text("0123456789abcdef", min_size=32, max_size=40)),
            "bucket": draw(text()),
            "user": draw(EMAILS),
            "action": draw(enum("WorkItemAction")),
            "stage": draw(enum("WorkItemStage")),
            "status": draw(enum("WorkItemStatus")),
            "bag_date": draw(TIMES),
            "date_processed": draw(TIMES),
        },
        {
            "note": text(),
            "outcome": text(),
            "retry": st.booleans(),
            "node": text(),
            "pid": st.integers(0, 2**31 - 1),
            "needs_admin_review": st.booleans(),
            "queued_at": TIMES,
            "stage_started_at": TIMES,
            "aptrust_approver": EMAILS,
            "inst_approver": EMAILS,
            "intellectual_object_id": st.sampled_from(object_ids),
        },
    )


@st.composite
def institution_bodies(draw, parent_id: int):
    subscription = draw(st.booleans())
    body = body_of(
        draw,
        "InstitutionCreate",
        {
            "name": draw(text().filter(lambda t: len(t.strip()) >= 5)),
            "identifier": f"rt{next(_serial)}-{uuid.uuid4().hex[:6]}.example.org",
            "type": "SubscriptionInstitution" if subscription else "MemberInstitution",
        },
        {"otp_enabled": st.booleans(), "spot_restore_frequency": st.integers(0, 365)},
    )
    if subscription:
        body["member_institution_id"] = parent_id
    return body


def test_every_admin_update_operation_is_covered():
    operations = {
        op["operationId"]
        for item in load_spec(ADMIN_SPEC)["paths"].values()
        for method, op in item.items()
        if method == "put" and op["operationId"].startswith("update_")
    }
    assert operations == set(UPDATES.values())


@SETTINGS
@given(data=st.data())
def test_records_made_from_drawn_bodies_round_trip(client, admin, home, data):
    obj = client.post(
        f"{ADMIN}/objects/create/{home.id}",
        headers=admin,
        json=data.draw(object_bodies(home), "object"),
    )
    assert obj.status_code == 201, obj.text
    obj = obj.json()
    round_trip(client, admin, "objects", obj["id"])
    made = client.post(
        f"{ADMIN}/files/create/{home.id}", headers=admin, json=data.draw(file_bodies(obj), "file")
    )
    assert made.status_code == 201, made.text
    round_trip(client, admin, "files", made.json()["id"])
    item = client.post(
        f"{ADMIN}/items/create/{home.id}",
        headers=admin,
        json=data.draw(item_bodies([obj["id"]]), "item"),
    )
    assert item.status_code in (201, 409), item.text  # 409: a second unfinished restore
    if item.status_code == 201:
        round_trip(client, admin, "items", item.json()["id"])
    institution = client.post(
        f"{ADMIN}/institutions/create",
        headers=admin,
        json=data.draw(institution_bodies(home.id), "institution"),
    )
    assert institution.status_code == 201, institution.text
    home.made_institutions.append(institution.json()["id"])
    round_trip(client, admin, "institutions", institution.json()["id"])


def test_records_the_registry_makes_itself_round_trip(client, admin, home):
    """Work items queued by restores of an object without an etag (`etag: ""`) and by an
    approved deletion; a deleted file; the operator's institution (no type); a deactivated
    institution and a subscription institution."""

    def new_object(files: int):
        obj = client.post(
            f"{ADMIN}/objects/create/{home.id}",
            headers=admin,
            json={
                "title": "made by the registry",
                "identifier": f"{home.institution.identifier}/rt-{uuid.uuid4().hex}",
            },
        )
        assert obj.status_code == 201, obj.text
        made = [
            client.post(
                f"{ADMIN}/files/create/{home.id}",
                headers=admin,
                json={
                    "identifier": f"{obj.json()['identifier']}/data/{n}.txt",
                    "file_format": "text/plain",
                    "intellectual_object_id": obj.json()["id"],
                    "size": 10,
                    "uuid": str(uuid.uuid4()),
                },
            )
            for n in range(files)
        ]
        assert [f.status_code for f in made] == [201] * files
        return obj.json(), [f.json() for f in made]

    obj, files = new_object(1)
    assert obj["etag"] is None
    items = [
        client.post(f"{MEMBER}/objects/{obj['id']}/restore", headers=home.headers["user"]).json(),
        client.post(
            f"{MEMBER}/files/{files[0]['id']}/restore", headers=home.headers["user"]
        ).json(),
    ]
    assert [i["etag"] for i in items] == ["", ""]
    for item in items:
        round_trip(client, admin, "items", item["id"])
    obj, files = new_object(2)
    approve_deletion(obj["id"], files[0]["id"])
    deleted = client.delete(f"{ADMIN}/files/delete/{files[0]['id']}", headers=admin)
    assert deleted.status_code == 200, deleted.text
    round_trip(client, admin, "files", files[0]["id"])
    inst = home.headers["admin"]
    filed = client.post(f"{MEMBER}/files/{files[1]['id']}/delete", headers=inst).json()
    approved = client.post(f"{MEMBER}/deletions/{filed['id']}/approve", headers=inst)
    assert approved.status_code == 200, approved.text
    delete_items = client.get(
        f"{ADMIN}/items",
        headers=admin,
        params={"generic_file_id": files[1]["id"], "action": "Delete"},
    ).json()["results"]
    assert delete_items
    for item in delete_items:
        round_trip(client, admin, "items", item["id"])
    operator = client.get(
        f"{ADMIN}/institutions", headers=admin, params={"identifier": "aptrust.org"}
    ).json()["results"][0]
    assert operator["type"] is None
    round_trip(client, admin, "institutions", operator["id"])
    for kind in ("SubscriptionInstitution", "MemberInstitution"):
        made = client.post(
            f"{ADMIN}/institutions/create",
            headers=admin,
            json={
                "name": "Round trip college",
                "type": kind,
                "identifier": f"rt{next(_serial)}-{uuid.uuid4().hex[:6]}.example.org",
                **({"member_institution_id": home.id} if kind.startswith("Sub") else {}),
            },
        )
        assert made.status_code == 201, made.text
        home.made_institutions.append(made.json()["id"])
        round_trip(client, admin, "institutions", made.json()["id"])
    gone = client.delete(f"{ADMIN}/institutions/deactivate/{made.json()['id']}", headers=admin)
    assert gone.status_code == 200, gone.text
    round_trip(client, admin, "institutions", made.json()["id"])


@pytest.fixture(scope="module")
def stored_ids(client, world) -> dict:
    """The id of every stored record of each kind, as the admin lists show them."""
    admin, found = world["sysadmin"].headers, {}
    for kind in UPDATES:
        ids, page = [], 1
        while True:
            listed = client.get(
                f"{ADMIN}/{kind}", headers=admin, params={"per_page": 1000, "page": page}
            ).json()
            ids += [row["id"] for row in listed["results"]]
            if not listed["next"]:
                break
            page += 1
        found[kind] = ids
    return found


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_stored_records_round_trip(client, admin, stored_ids, data):
    kind = data.draw(st.sampled_from(sorted(UPDATES)), "kind")
    record_id = data.draw(st.sampled_from(stored_ids[kind]), "id")
    before = round_trip(client, admin, kind, record_id)
    # The record's `updated_at` as it was: the lists of later tests sort by it.
    model = MODELS[kind]
    with connection():
        model.update(updated_at=parse_datetime(before["updated_at"])).where(
            model.id == record_id
        ).execute()
