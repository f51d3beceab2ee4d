"""Keep the admin contract run from locking out the personas, itself included.

The admin run shares the session's database with every other test of its backend. It runs
last on each backend (contract_tests/conftest.py orders it so), but it signs in as the
sysadmin persona itself, and running the module alone, or reordering, must stay safe; a few
admin operations take access away for good:

  deactivate_institution   no user of the institution authenticates any more
  disable_user             none of the user's keys authenticates any more
  revoke_api_keys          every key of the user stops working
  revoke_api_key           that key stops working
  update_institution       (only when it changes `type` or `member_institution_id`) a demo
                           member turned into a subscription institution, or the reverse,
                           changes what its users are allowed to see
  delete_object            the member suites read and restore the seeded objects and files
  delete_file              (the spec's examples are example.edu/bag-0001 and its files)

For those operations only, a `before_call` hook swaps a path `id` that names a persona's
institution or user, or a seeded object, for a stand-in created here (`make_stand_ins`), just
before the request is sent: everything else about the case, and every other operation, is
untouched. The stand-ins are real rows, so the spec's examples (institution 2, user 1, key
prefix `rgk_3q2-7wEr`, object 1) still get their 2xx, on the stand-in instead of example.edu,
the sysadmin or the demo's deletable object and file. The stand-in object and file meet every
precondition of a deletion (models.deletion_checks): an object-level ingestion event, an
approved deletion request, a Started Delete work item naming its approver; the object has no
active files. Ids that are not valid (the negative and coverage cases: 0, -1, `abc`) are not
swapped: they must still answer 400/404.

init_batch_delete needs the server's batch deletion secret in its body, which no document
holds: the hook puts the app's secret (conftest.BATCH_DELETION_KEY) into positive cases, so the
spec's example reaches its 201. Negative cases keep what Schemathesis made of the field.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import schemathesis

# Operation id -> which kind of record its path `id` names.
GUARDED = {
    "deactivate_institution": "institution",
    "update_institution": "institution",
    "disable_user": "user",
    "revoke_api_keys": "user",
    "revoke_api_key": "user",
    "delete_object": "object",
    "delete_file": "file",
}
# update_institution only takes access away when it moves an institution between the types.
_RESTRUCTURING_FIELDS = ("type", "member_institution_id")
# The spec's example prefix of revoke_api_key: the stand-in user holds a key with this prefix.
EXAMPLE_KEY_PREFIX = "rgk_3q2-7wEr"


@dataclass
class StandIns:
    institution_id: int  # a member institution nobody signs in from
    users: dict  # operation id -> a user of it: each guarded user operation has its own
    object_id: int  # an object of it without files, which delete_object can delete
    file_id: int  # an active file of another object of it, which delete_file can delete


def make_stand_ins(world) -> StandIns:
    """Create (once per database) the institution and users the guarded operations act on.

    One user per operation, so that one operation's success does not turn another's examples
    into conflicts (revoking all keys would revoke the key revoke_api_key's example names). The
    user of revoke_api_key holds a key with the spec example's prefix."""
    from models.generic_file import GenericFile
    from models.institution import Institution
    from models.institution_writes import buckets
    from models.intellectual_object import IntellectualObject
    from models.stats import refresh_object_stats
    from models.storage.db import connection, database
    from models.user import ApiKey, User, digest_of, issue_key

    identifier = "stand-in.example.org"
    users = {}
    with connection(), database.atomic():
        institution = Institution.get_or_none(Institution.identifier == identifier)
        if institution is None:
            institution = Institution.create(
                identifier=identifier,
                name="Stand-in Institution",
                type="MemberInstitution",
                **buckets(identifier),
            )
        for operation_id, kind in GUARDED.items():
            if kind != "user":
                continue
            email = f"{operation_id.replace('_', '-')}@{identifier}"
            user = User.get_or_none(User.email == email)
            if user is None:
                user = User.create(
                    email=email,
                    name=f"Stand-in for {operation_id}",
                    role="institutional_user",
                    institution=institution,
                )
                issue_key(user)
                if operation_id == "revoke_api_key":
                    ApiKey.create(
                        user=user,
                        prefix=EXAMPLE_KEY_PREFIX,
                        digest=digest_of(EXAMPLE_KEY_PREFIX + "-stand-in-secret"),
                    )
            users[operation_id] = user.id
        bag = IntellectualObject.get_or_none(
            IntellectualObject.identifier == f"{identifier}/empty-bag"
        )
        if bag is None:
            bag = IntellectualObject.create(
                title="Stand-in bag without files",
                identifier=f"{identifier}/empty-bag",
                bag_name="empty-bag",
                institution=institution,
            )
            _deletion_under_way(institution, bag, None)
        with_file = IntellectualObject.get_or_none(
            IntellectualObject.identifier == f"{identifier}/one-file-bag"
        )
        if with_file is None:
            with_file = IntellectualObject.create(
                title="Stand-in bag with one file",
                identifier=f"{identifier}/one-file-bag",
                bag_name="one-file-bag",
                institution=institution,
            )
            stand_in_file = GenericFile.create(
                file_format="text/plain",
                size=10,
                identifier=f"{with_file.identifier}/data/a.txt",
                intellectual_object=with_file,
                institution=institution,
                state="A",
                uuid=str(uuid.uuid5(uuid.NAMESPACE_URL, with_file.identifier)),
            )
            refresh_object_stats([with_file.id])
            _deletion_under_way(institution, with_file, stand_in_file)
        file_id = GenericFile.get(GenericFile.intellectual_object == with_file).id
    return StandIns(institution.id, users, bag.id, file_id)


def _deletion_under_way(institution, obj, generic_file) -> None:
    """What the deletion services find when they delete `generic_file` (or, if None, `obj`):
    an approved request and its Started Delete work item, and the object's ingestion event."""
    from models.deletion_request import DeletionRequest, DeletionRequestFile, DeletionRequestObject
    from models.premis_event import PremisEvent
    from models.storage.base import utcnow
    from models.user import User
    from models.work_item import WorkItem

    email = f"deletion-admin@{institution.identifier}"
    admin = User.get_or_none(User.email == email) or User.create(
        email=email,
        name="Stand-in deletion approver",
        role="institutional_admin",
        institution=institution,
    )
    now = utcnow()
    request = DeletionRequest.create(
        institution=institution,
        requested_by=admin,
        requested_at=now,
        confirmed_by=admin,
        confirmed_at=now,
        encrypted_confirmation_token="stand-in",
    )
    if generic_file is None:
        DeletionRequestObject.create(deletion_request=request, intellectual_object=obj)
    else:
        DeletionRequestFile.create(deletion_request=request, generic_file=generic_file)
    PremisEvent.create(
        identifier=str(uuid.uuid5(uuid.NAMESPACE_URL, f"ingestion/{obj.identifier}")),
        event_type="ingestion",
        date_time=now,
        outcome="Success",
        outcome_detail="stand-in",
        detail="stand-in",
        outcome_information="stand-in",
        object="stand-in",
        agent="stand-in",
        intellectual_object=obj,
        generic_file=None,
        institution=institution,
        created_at=now,
        updated_at=now,
    )
    WorkItem.create(
        intellectual_object=obj,
        generic_file=generic_file,
        institution=institution,
        name=f"{obj.bag_name}.tar",
        etag="0" * 32,
        bucket=f"aptrust.receiving.{obj.identifier}",
        user=admin.email,
        inst_approver=admin.email,
        deletion_request=request,
        action="Delete",
        stage="Resolve",
        status="Started",
        bag_date=now,
        date_processed=now,
    )


def as_id(value) -> int | None:
    """A path `id` as an integer, or None when it is not one (negative and coverage cases)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


# Schemathesis only has a global `before_call` hook, so one hook serves every guarded schema:
# the guard of the app a case is sent to (one app, and so one database, per backend).
_GUARDS: dict[int, tuple[dict, StandIns]] = {}


@schemathesis.hook("before_call")
def keep_personas_signed_in(context, case, kwargs):
    if not case.operation.full_path.startswith("/admin-api/"):
        return  # the member API's schemas share the app, not the guard
    guard = _GUARDS.get(id(case.operation.schema.app))
    operation_id = case.operation.definition.raw.get("operationId")
    if operation_id == "init_batch_delete":
        _with_batch_secret(case)
        return
    kind = GUARDED.get(operation_id)
    if guard is None or kind is None or not case.path_parameters:
        return
    protected, stand_ins = guard
    if operation_id == "update_institution" and not (
        isinstance(case.body, dict) and any(name in case.body for name in _RESTRUCTURING_FIELDS)
    ):
        return
    if as_id(case.path_parameters.get("id")) in protected[kind]:
        replacement = {
            "institution": stand_ins.institution_id,
            "object": stand_ins.object_id,
            "file": stand_ins.file_id,
            "user": stand_ins.users.get(operation_id),
        }[kind]
        case.path_parameters = {**case.path_parameters, "id": replacement}


def _with_batch_secret(case) -> None:
    """A positive case of init_batch_delete carries the app's secret (see the docstring)."""
    from conftest import BATCH_DELETION_KEY

    meta = case.meta
    positive = meta is None or meta.generation.mode.is_positive
    if positive and isinstance(case.body, dict) and "secretKey" in case.body:
        case.body = {**case.body, "secretKey": BATCH_DELETION_KEY}


def guard_personas(schema, world, stand_ins: StandIns) -> None:
    """Swap the personas' ids for the stand-ins' in the guarded operations of `schema`'s app."""
    from models.generic_file import GenericFile
    from models.intellectual_object import IntellectualObject
    from models.storage.db import connection

    with connection():
        objects = {
            row.id
            for row in IntellectualObject.select(IntellectualObject.id)
            if row.id != stand_ins.object_id
        }
        files = {
            row.id for row in GenericFile.select(GenericFile.id) if row.id != stand_ins.file_id
        }
    protected = {
        "object": objects,
        "file": files,
        "institution": set(world.institutions.values()),
        "user": {persona.user_id for persona in world.personas.values()},
    }
    _GUARDS[id(schema.app)] = (protected, stand_ins)
