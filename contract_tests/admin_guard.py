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
  delete_object            the member suites read and restore the seeded objects (the spec's
                           examples are example.edu/bag-0001 and its files)

For those operations only, a `before_call` hook swaps a path `id` that names a persona's
institution or user, or a seeded object, for a stand-in created here (`make_stand_ins`), just
before the request is sent: everything else about the case, and every other operation, is
untouched. The stand-ins are real rows, so the spec's examples (institution 2, user 1, key
prefix `rgk_3q2-7wEr`, object 1) still get their 2xx, on the stand-in instead of example.edu,
the sysadmin or example.edu/bag-0001. (No seeded object could be deleted anyway: each has
active files, and delete_object answers 409 until every file is deleted. The stand-in object
has none, so the example reaches the 200 the operation is for.) Ids that are not valid (the
negative and coverage cases: 0, -1, `abc`) are not swapped: they must still answer 400/404.
"""
from __future__ import annotations

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
}
# update_institution only takes access away when it moves an institution between the types.
_RESTRUCTURING_FIELDS = ("type", "member_institution_id")
# The spec's example prefix of revoke_api_key: the stand-in user holds a key with this prefix.
EXAMPLE_KEY_PREFIX = "rgk_3q2-7wEr"


@dataclass
class StandIns:
    institution_id: int  # a member institution nobody signs in from
    users: dict          # operation id -> a user of it: each guarded user operation has its own
    object_id: int       # an object of it without files, which delete_object can delete


def make_stand_ins(world) -> StandIns:
    """Create (once per database) the institution and users the guarded operations act on.

    One user per operation, so that one operation's success does not turn another's examples
    into conflicts (revoking all keys would revoke the key revoke_api_key's example names). The
    user of revoke_api_key holds a key with the spec example's prefix."""
    from models.db import connection, database
    from models.institution import Institution
    from models.institution_writes import buckets
    from models.intellectual_object import IntellectualObject
    from models.user import ApiKey, User, digest_of, issue_key

    identifier = "stand-in.example.org"
    users = {}
    with connection(), database.atomic():
        institution = Institution.get_or_none(Institution.identifier == identifier)
        if institution is None:
            institution = Institution.create(
                identifier=identifier, name="Stand-in Institution", type="MemberInstitution",
                **buckets(identifier))
        for operation_id, kind in GUARDED.items():
            if kind != "user":
                continue
            email = f"{operation_id.replace('_', '-')}@{identifier}"
            user = User.get_or_none(User.email == email)
            if user is None:
                user = User.create(email=email, name=f"Stand-in for {operation_id}",
                                   role="institutional_user", institution=institution)
                issue_key(user)
                if operation_id == "revoke_api_key":
                    ApiKey.create(user=user, prefix=EXAMPLE_KEY_PREFIX,
                                  digest=digest_of(EXAMPLE_KEY_PREFIX + "-stand-in-secret"))
            users[operation_id] = user.id
        bag = IntellectualObject.get_or_none(
            IntellectualObject.identifier == f"{identifier}/empty-bag")
        if bag is None:
            bag = IntellectualObject.create(
                title="Stand-in bag without files", identifier=f"{identifier}/empty-bag",
                bag_name="empty-bag", institution=institution)
    return StandIns(institution.id, users, bag.id)


def _as_id(value) -> int | None:
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
    kind = GUARDED.get(operation_id)
    if guard is None or kind is None or not case.path_parameters:
        return
    protected, stand_ins = guard
    if operation_id == "update_institution" and not (
            isinstance(case.body, dict)
            and any(name in case.body for name in _RESTRUCTURING_FIELDS)):
        return
    if _as_id(case.path_parameters.get("id")) in protected[kind]:
        replacement = {"institution": stand_ins.institution_id, "object": stand_ins.object_id,
                       "user": stand_ins.users.get(operation_id)}[kind]
        case.path_parameters = {**case.path_parameters, "id": replacement}


def guard_personas(schema, world, stand_ins: StandIns) -> None:
    """Swap the personas' ids for the stand-ins' in the guarded operations of `schema`'s app."""
    from models.db import connection
    from models.intellectual_object import IntellectualObject

    with connection():
        objects = {row.id for row in IntellectualObject.select(IntellectualObject.id)
                   if row.id != stand_ins.object_id}
    protected = {
        "object": objects,
        "institution": set(world.institutions.values()),
        "user": {persona.user_id for persona in world.personas.values()},
    }
    _GUARDS[id(schema.app)] = (protected, stand_ins)

