"""The admin API's stateful phase: its OpenAPI links as a Schemathesis state machine, both backends.

`schema.as_state_machine()` turns each link of the admin document into a rule that takes its
values from an earlier response of the same scenario. The chain an ingest service walks:
create_object -> show_object -> create_file (the object's id, and an identifier under the
object's, put into the generated body by the link) or create_file_batch -> list_files of that
object -> delete_file -> delete_object; besides, create_work_item -> show / update / requeue,
create_institution -> show / update / create_user / create_work_item, create_user -> show /
issue a key / disable, and issue_api_key -> revoke that key (OPERATIONS: the rest of the admin
API is left to test_admin_api.py and, for the member reads' list -> show links,
test_member_stateful.py).
Every call of every scenario goes through harness.ADMIN_CHECKS (the member suite's checks plus
`use_after_free` and `ensure_resource_availability`) and must carry the security headers.

Where scenarios start. Schemathesis takes the POSTs with links, and the lists, for roots. A
generated create_object almost never names an existing institution with an identifier inside
it, and a generated work item an existing institution; so each scenario opens with an object
and a work item of example.edu, as an ingest service makes them: a positive case of the
operation whose path names example.edu, with a fresh object identifier under example.edu's,
a non-blank title, name and bucket, and without the optional ids the server assigns or checks
(`id`, `institution_id`, `bag_name`, the work item's references). Every other field is the
generated one, and the case is revalidated and checked like any other. (An institution and
a user are opened the same way, so that the links of institutions, users and keys start from
records that exist; and positive file bodies are shaped as an ingest sends them, see
FILE_WRITES.) From there on Schemathesis picks: links with the values from the responses at
hand (now and then a generated value instead, now and then a negative case), and the roots.

What the two checks added for the admin API can see. Both decide whether two requests are
about the same resource by their paths: a DELETE's path must be a prefix of the later read's
(`use_after_free`), a successful POST's path a prefix of the read that answered 404
(`ensure_resource_availability`); the path segments must match literally (a plural `s` aside).
Our paths are the reference's, one verb segment per operation (`/objects/create/{institution_id}`,
`/objects/show/{id}`, `/objects/delete/{id}`), so for objects, files, institutions, users and
work items neither check relates the write to the read and both pass without looking. Where the
paths nest, they do look: issue_api_key (`POST /users/{id}/keys`) -> revoke_api_key
(`DELETE /users/{id}/keys/{prefix}`) is judged by `ensure_resource_availability` (a 404 for the
key just issued fails it). So that creation and deletion are still judged for every resource,
this test applies their rules itself, by (resource, id) instead of by path, to every call:
- a read reached by a link from a successful create (show_object / show_file / show_item /
  show_institution / show_user, list_files of the new object), sent with the linked value as a
  positive case, answers 200 (ensure_resource_availability's rule);
- deletions are soft, as in the reference: delete_object and delete_file set state `D` and
  keep the row, and the spec says so. A show of an object or file that a delete of the same
  scenario answered 200 for therefore answers 200 with state `D`, not 404 (use_after_free
  would expect 404 for a hard delete; ours is documented as a state change).

Deletion preconditions. The reference only lets a file or object be deleted with an approved
deletion request, a started Delete work item and an ingestion event; the deletion workflow (a
branch of its own) adds those checks to delete_file and delete_object. A file or object made a
moment earlier by this machine meets none of them, so there a linked delete will answer 409,
which is documented (today it answers 200, or 409 for an object with active files or a record
deleted already). The test therefore requires the delete links (MUST_DELETE) to be followed
with their value and to answer 200 or 409, never that they succeed; whichever happens, every
check runs on the answer.

State. Hypothesis runs derandomized, with no example database, and may replay a scenario's
choices while it generates: the server's answers must depend on those choices alone (else it
reports a flaky strategy). So every scenario starts from the database the test found: the
rows the machine added (objects, files and their records, work items, institutions, users,
keys) are removed before each scenario and at the end; and the machine leaves alone what it did
not make: a generated id of a write (update, delete, requeue, restore, disable, key) that names
a record older than the test is replaced by one that names nothing (404), as link values never
are (they name records the scenario made). What earlier tests left behind stays as it is; the
module runs last on each backend, after test_admin_api.py (contract_tests/conftest.py), and
contract_tests/admin_guard.py still keeps the operations that take access away off the personas.
"""

from __future__ import annotations

import itertools
import uuid
from collections import Counter

import hypothesis
import pytest
from hypothesis.stateful import Bundle, initialize
from schemathesis import GenerationMode
from schemathesis.generation.meta import TestPhase
from schemathesis.generation.stateful.state_machine import StepInput

from contract_tests.admin_guard import as_id
from contract_tests.harness import (
    ADMIN_CHECKS,
    ADMIN_SCHEMA_PATH,
    STATEFUL_PHASES,
    accept_documented_rule_violations,
    load_schema,
)
from contract_tests.test_member_api import wrong_security_headers
from contract_tests.test_member_stateful import Step, _link_name, _operation_id

PERSONA = "sysadmin"
OPENING_INSTITUTION = "example.edu"

# The admin document's links as (source operationId, link name, target operationId): the state
# machine has exactly these transitions, none inferred.
CHAIN_LINKS = {
    ("create_object", "ShowObject", "show_object"),
    ("create_object", "CreateFileOfObject", "create_file"),
    ("create_object", "CreateFilesOfObject", "create_file_batch"),
    ("create_object", "ListFilesOfObject", "list_files"),
    ("show_object", "CreateFileOfObject", "create_file"),
    ("create_file", "ShowFile", "show_file"),
    ("create_file", "ListFilesOfObject", "list_files"),
    ("create_file_batch", "ShowFirstFile", "show_file"),
    ("create_file_batch", "ListFilesOfFirstObject", "list_files"),
}
DELETE_LINKS = {
    ("create_object", "DeleteObject", "delete_object"),
    ("create_file", "DeleteFile", "delete_file"),
    ("create_file_batch", "DeleteFirstFile", "delete_file"),
}
OTHER_LINKS = {
    ("create_object", "UpdateObject", "update_object"),
    ("create_object", "RestoreObject", "init_object_restore"),
    ("create_file", "UpdateFile", "update_file"),
    ("update_file", "ShowFile", "show_file"),
    ("list_files", "ShowFirstFile", "show_file"),
    ("delete_file", "DeleteObjectOfFile", "delete_object"),
    ("init_object_restore", "ShowRestoreItem", "show_item"),
    ("create_work_item", "ShowItem", "show_item"),
    ("create_work_item", "UpdateItem", "update_work_item"),
    ("create_work_item", "RequeueItem", "requeue_work_item"),
    ("create_institution", "ShowCreatedInstitution", "show_institution"),
    ("create_institution", "UpdateCreatedInstitution", "update_institution"),
    ("create_institution", "CreateUserOfInstitution", "create_user"),
    ("create_institution", "CreateItemOfInstitution", "create_work_item"),
    ("update_institution", "ShowUpdatedInstitution", "show_institution"),
    ("create_user", "ShowCreatedUser", "show_user"),
    ("create_user", "IssueKeyForCreatedUser", "issue_api_key"),
    ("create_user", "DisableCreatedUser", "disable_user"),
    ("issue_api_key", "RevokeIssuedKey", "revoke_api_key"),
}
SPEC_LINKS = CHAIN_LINKS | DELETE_LINKS | OTHER_LINKS
# The operations of the machine: the writes with links and what they link to. Left out, so that
# the scenarios spend their steps on the chains: the other lists and shows (their list -> show
# links are the member API's, run by test_member_stateful.py), the writes of checksums, events
# and storage records (each links to its show only), and deactivate_institution and
# revoke_api_keys (no links). test_admin_api.py runs every operation.
OPERATIONS = sorted({op for source, _, target in SPEC_LINKS for op in (source, target)})
# More than the member machine: the chains are longer (create -> show -> create -> list -> delete).
SCENARIOS, STEPS = 45, 30  # 30 stopped reaching create_file's links with the new operations
# Followed with their value and answered 2xx at least once, on each backend: each step of the
# ingest chain (create object -> show -> create files -> list files -> show a file), and the
# natural links of restores, work items, institutions and users. A step that several links
# reach needs one of them: which of them the machine draws shifts with every operation's
# schema (create_file -> ListFilesOfObject was drawn with one operation set and not the next),
# and the chain is proved by any of them.
MUST_SUCCEED = [
    {("create_object", "ShowObject", "show_object")},
    {
        ("create_object", "CreateFileOfObject", "create_file"),
        ("show_object", "CreateFileOfObject", "create_file"),
    },
    {("create_object", "CreateFilesOfObject", "create_file_batch")},
    {
        ("create_object", "ListFilesOfObject", "list_files"),
        ("create_file", "ListFilesOfObject", "list_files"),
        ("create_file_batch", "ListFilesOfFirstObject", "list_files"),
    },
    {("create_file", "ShowFile", "show_file"), ("create_file_batch", "ShowFirstFile", "show_file")},
    {("create_object", "RestoreObject", "init_object_restore")},
    {("create_work_item", "ShowItem", "show_item")},
    {("create_institution", "ShowCreatedInstitution", "show_institution")},
    {("create_user", "ShowCreatedUser", "show_user")},
    {("create_user", "IssueKeyForCreatedUser", "issue_api_key")},
    {("create_user", "DisableCreatedUser", "disable_user")},
]
# Followed with their value at least once, answering whatever the spec documents: writes whose
# 2xx needs a generated body that also meets the registry's rules (a valid stage for the
# item's action, a user's e-mail and role, ...). The machine usually gets some through (the
# report shows how many), but how many varies with each run's fresh record names; every call is
# checked all the same.
MUST_FOLLOW = [
    {("create_work_item", "UpdateItem", "update_work_item")},
    {("create_work_item", "RequeueItem", "requeue_work_item")},
    {("create_institution", "CreateUserOfInstitution", "create_user")},
    {("create_institution", "CreateItemOfInstitution", "create_work_item")},
]
# issue_api_key -> RevokeIssuedKey -> revoke_api_key is followed when the machine draws it, not
# required: three steps deep, it was drawn with one operation set and not the next.
# tests/test_admin_users.py issues and revokes keys deterministically. So is
# init_object_restore -> ShowRestoreItem -> show_item, three steps deep too: drawn until every
# read documented its 503, and not since; tests/test_admin_objects.py
# (test_init_restore_queues_a_restore_item) shows the item a restore made.
# Followed with their value at least once (the file's delete from create_file or from
# create_file_batch), answering 200, or 409 while the deletion's preconditions are not met (see
# the module docstring).
MUST_DELETE = [
    {("create_object", "DeleteObject", "delete_object")},
    {
        ("create_file", "DeleteFile", "delete_file"),
        ("create_file_batch", "DeleteFirstFile", "delete_file"),
    },
]
DELETE_STATUSES = {200, 409}
# The other links are followed when a scenario gets that far (after a generated update that the
# rules accept, a delete that succeeds, or an optional filter the link fills in by chance);
# every call they make is checked like any other, and the report shows how often.
# Reads of what a create made, by the id the create answered (see the module docstring).
CREATED_READS = {
    "show_object",
    "show_file",
    "show_item",
    "show_institution",
    "show_user",
    "list_files",
}
DELETES = {"delete_object": "object", "delete_file": "file"}
SHOWS = {"show_object": "object", "show_file": "file"}


def _tables():
    """What the machine writes, children before parents (the order rows are removed in). The
    registry writes alerts by itself too: a restore item that reaches Success, and the
    failed-fixity run, link their alerts to the machine's work items and events."""
    from models.alert import Alert
    from models.checksum import Checksum
    from models.generic_file import GenericFile
    from models.institution import Institution
    from models.intellectual_object import IntellectualObject
    from models.premis_event import PremisEvent
    from models.storage_record import StorageRecord
    from models.user import ApiKey, User
    from models.work_item import WorkItem

    return [
        Alert,
        ApiKey,
        User,
        WorkItem,
        PremisEvent,
        Checksum,
        StorageRecord,
        GenericFile,
        IntellectualObject,
        Institution,
    ]


def _marks() -> dict:
    """The newest id of each table the machine writes to."""
    from peewee import fn

    from models.storage.db import connection

    with connection():
        return {model: model.select(fn.MAX(model.id)).scalar() or 0 for model in _tables()}


def _delete_after(marks: dict) -> None:
    """Remove every row the machine added since `marks`, newest tables first."""
    from models.alert import Alert, AlertPremisEvent, AlertUser, AlertWorkItem
    from models.generic_file import GenericFile as F
    from models.stats import refresh_object_stats
    from models.storage.db import connection, database

    with connection(), database.atomic():
        older_objects = {
            row.intellectual_object_id
            for row in F.select(F.intellectual_object).where(F.id > marks[F])
        }
        alerts = Alert.select(Alert.id).where(Alert.id > marks[Alert])
        for link in (AlertUser, AlertWorkItem, AlertPremisEvent):
            link.delete().where(link.alert.in_(alerts)).execute()
        for model in _tables():
            model.delete().where(model.id > marks[model]).execute()
        refresh_object_stats(sorted(older_objects))


# Path ids of the machine's writes, and the table each names.
WRITES_BY_ID = {
    "update_object": "IntellectualObject",
    "delete_object": "IntellectualObject",
    "init_object_restore": "IntellectualObject",
    "update_file": "GenericFile",
    "delete_file": "GenericFile",
    "update_work_item": "WorkItem",
    "requeue_work_item": "WorkItem",
    "update_institution": "Institution",
    "disable_user": "User",
    "issue_api_key": "User",
    "revoke_api_key": "User",
}
NOTHING = 2**62  # an id no record has: its writes answer 404


def _opening_rule(operation, prepare):
    """An @initialize rule: a positive case of `operation`, completed by `prepare` as a client
    fills it in, sent and checked as a root step (as Schemathesis's own root rules do)."""
    positive = operation.as_strategy(
        generation_mode=GenerationMode.POSITIVE, phase=TestPhase.STATEFUL
    )

    @initialize(target=Bundle("catch_all"), case=positive)
    def opening(self, case):
        prepare(case)  # assigns path_parameters and body: Schemathesis revalidates the case
        step = StepInput.initial(case)
        self.recorder.record_case(case=case)
        self.control.record_step(step, self.recorder)
        return self._step(step)

    opening.__name__ = f"open_with_{_operation_id(operation)}"
    return opening


def _without(body, *names) -> dict:
    return {k: v for k, v in (body if isinstance(body, dict) else {}).items() if k not in names}


@pytest.fixture(scope="session")
def admin_stateful_schema(app, world):
    from contract_tests.admin_guard import guard_personas, make_stand_ins

    schema = load_schema(
        app,
        world[PERSONA].headers,
        path=ADMIN_SCHEMA_PATH,
        phases=STATEFUL_PHASES,
        checks=ADMIN_CHECKS,
    )
    stateful = schema.config.phases.stateful
    stateful.generation.update(max_examples=SCENARIOS)
    stateful.max_steps = STEPS
    stateful.inference.algorithms = []  # the spec's links only
    guard_personas(schema, world, make_stand_ins(world))
    accept_documented_rule_violations(schema)
    schema = schema.include(operation_id=OPERATIONS)
    marks = {model.__name__: mark for model, mark in _marks().items()}

    @schema.hook("map_case")
    def leave_older_records_alone(context, case):
        table = WRITES_BY_ID.get(_operation_id(case.operation))
        value = as_id((case.path_parameters or {}).get("id"))
        if table and value is not None and 0 < value <= marks[table]:
            case.path_parameters = {**case.path_parameters, "id": NOTHING}
        return case

    @schema.hook("map_case")
    def file_bodies_as_an_ingest_sends_them(context, case):
        operation_id = _operation_id(case.operation)
        if operation_id not in FILE_WRITES or case.meta.generation.mode != GenerationMode.POSITIVE:
            return case
        if operation_id == "create_file_batch":
            case.body = [_as_ingested(case.body[0])]
        else:
            case.body = _as_ingested(case.body)
        return case

    return schema


# Positive file bodies of the machine, as an ingest service sends them (see the module
# docstring): its nested records carry no ids (a new file has none yet; the server fills in the
# file's, object's and institution's), each digest has its algorithm's length, and a batch holds
# one file. Random ones almost never do, so the chain would seldom get past create_file; the
# per-operation run (test_admin_api.py) sends them as generated, and the rules they break answer
# 422 there. Negative cases are left as generated.
FILE_WRITES = {"create_file", "create_file_batch"}
NESTED_IDS = {"id", "generic_file_id", "intellectual_object_id", "institution_id"}


def _as_ingested(body):
    from models.record_writes import DIGEST_LENGTHS, NESTED_KINDS

    if not isinstance(body, dict):
        return body
    body = dict(body)
    for kind in NESTED_KINDS:
        if not isinstance(body.get(kind), list):
            continue
        records = [
            {k: v for k, v in record.items() if k not in NESTED_IDS} for record in body[kind]
        ]
        if kind == "checksums":
            for record in records:
                length = DIGEST_LENGTHS[record["algorithm"]]
                record["digest"] = (record["digest"] * length)[:length]
        body[kind] = records
    return body


def test_admin_links_as_state_machine(admin_stateful_schema, world, backend):
    schema = admin_stateful_schema
    APIWorkflow = schema.as_state_machine()

    links = [
        link for entry in APIWorkflow._transitions.operations.values() for link in entry.outgoing
    ]
    assert {
        (_operation_id(link.source), link.name, _operation_id(link.target)) for link in links
    } == SPEC_LINKS
    operations = {_operation_id(result.ok()): result.ok() for result in schema.get_all_operations()}

    institution_id = world.institutions[OPENING_INSTITUTION]
    fresh = itertools.count(1)
    run = uuid.uuid4().hex[:8]  # this run's records never collide with an earlier run's

    def new_object(case):
        case.path_parameters = {"institution_id": institution_id}
        case.body = {
            **_without(case.body, "id", "institution_id", "bag_name"),
            "title": "Made by the admin stateful run",
            "identifier": f"{OPENING_INSTITUTION}/admin-stateful-{run}-{next(fresh)}",
        }

    def new_item(case):
        case.path_parameters = {"institution_id": institution_id}
        case.body = {
            **_without(
                case.body,
                "id",
                "institution_id",
                "intellectual_object_id",
                "generic_file_id",
                "deletion_request_id",
            ),
            "name": f"admin-stateful-{run}-{next(fresh)}.tar",
            "bucket": "aptrust.receiving",
        }

    def new_institution(case):
        case.body = {
            **_without(case.body, "id", "identifier", "member_institution_id"),
            "name": "Admin Stateful College",
            "type": "MemberInstitution",
            "identifier": f"admin-stateful-{run}-{next(fresh)}.example.org",
        }

    def new_user(case):
        case.body = {
            **_without(case.body, "email", "institution_id"),
            "name": "Admin Stateful User",
            "role": "institutional_user",
            "email": f"admin-stateful-{run}-{next(fresh)}@{OPENING_INSTITUTION}",
            "institution_id": institution_id,
        }

    steps: list[Step] = []
    mark = _marks()
    checks_run: Counter = Counter()
    problems: list[str] = []
    scenarios = itertools.count(1)

    @schema.hook("after_validate")
    def count_checks(context, case, response, results):
        checks_run.update(result.name for result in results)

    class Recorded(APIWorkflow):
        def setup(self):
            # Each scenario starts from the database the test found (see the module docstring).
            _delete_after(mark)
            self.scenario = next(scenarios)
            self.input = None
            self.deleted: set[tuple[str, str]] = set()  # (kind, id) deleted in this scenario
            super().setup()

        def step(self, input):
            self.input = input
            return super().step(input)

        def after_call(self, response, case):
            super().after_call(response, case)
            transition = self.input.transition
            source = link = None
            if transition is not None:
                source = _operation_id(self.recorder.cases[transition.parent_id].value.operation)
                link = _link_name(transition)
            step = Step(
                self.scenario,
                source,
                link,
                _operation_id(case.operation),
                response.status_code,
                transition is not None and self.input.is_applied,
                case.meta.generation.mode.value,
            )
            steps.append(step)
            self._judge(step, case, response)

        def _judge(self, step, case, response):
            """The two checks' rules by (resource, id) instead of by path."""
            ok = 200 <= step.status < 300
            if step.target in DELETES and ok:
                self.deleted.add((DELETES[step.target], str(case.path_parameters["id"])))
            if step.target in SHOWS and ok:
                key = (SHOWS[step.target], str(case.path_parameters["id"]))
                if key in self.deleted and response.json().get("state") != "D":
                    problems.append(f"{step}: shown after its deletion, not in state D")
            if (
                step.linked
                and step.mode == "positive"
                and step.target in CREATED_READS
                and step.source.startswith("create_")
                and step.status != 200
            ):
                problems.append(f"{step}: not readable right after it was created")

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            super().validate_response(response, case, additional_checks, **kwargs)
            wrong = wrong_security_headers(case.method, response)
            assert not wrong, f"{steps[-1]} without its security headers: {wrong}"

    for operation_id, prepare in (
        ("create_object", new_object),
        ("create_work_item", new_item),
        ("create_institution", new_institution),
        ("create_user", new_user),
    ):
        rule = _opening_rule(operations[operation_id], prepare)
        setattr(Recorded, rule.__name__, rule)

    settings = hypothesis.settings(
        schema.config.get_hypothesis_settings(phase="stateful", apply_ci_profile=False),
        # As Schemathesis runs its state machines: generate only (a failing scenario is
        # reported as it ran), no health checks.
        phases=[hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    assert settings.derandomize and settings.database is None and settings.deadline is None
    assert (settings.max_examples, settings.stateful_step_count) == (SCENARIOS, STEPS)
    try:
        Recorded.run(settings=settings)
    except BaseException as exc:
        scenario = steps[-1].scenario if steps else None
        exc.add_note(
            "The failing scenario, as far as it ran:\n"
            + "\n".join(str(step) for step in steps if step.scenario == scenario)
        )
        raise
    finally:
        _delete_after(mark)
        schema.hooks.unregister(count_checks)

    # Every check, the two of the admin API included, ran on every call.
    assert checks_run == Counter({name: len(steps) for name in ADMIN_CHECKS}), checks_run
    assert not problems, "\n".join(problems)

    followed = Counter((s.source, s.link, s.target, s.status) for s in steps if s.linked)
    report = "\n".join(
        f"{n:4} {src} -[{link}]-> {dst}: {status}"
        for (src, link, dst, status), n in sorted(followed.items())
    )
    followed_links = {(src, link, dst) for src, link, dst, _ in followed}
    missing = [links for links in MUST_DELETE + MUST_FOLLOW if not links & followed_links]
    assert not missing, f"links never followed on {backend}: {missing}\n{report}"
    succeeded = {(src, link, dst) for src, link, dst, status in followed if 200 <= status < 300}
    missing = [links for links in MUST_SUCCEED if not links & succeeded]
    assert not missing, f"links never followed to a 2xx on {backend}: {missing}\n{report}"
    # A negative case whose credential Schemathesis made invalid (a negated security header:
    # the run's auth is by security scheme, harness.credentials_config) is refused, 401.
    odd = Counter(
        (s.source, s.link, s.target, s.status)
        for s in steps
        if s.linked
        and s.target in DELETES
        and s.status not in DELETE_STATUSES
        and not (s.mode == "negative" and s.status == 401)
    )
    assert not odd, f"linked deletes answered neither 200 nor 409 on {backend}: {odd}"
    calls = Counter((s.target if s.link is None else "via a link", s.mode, s.status) for s in steps)
    print(
        f"\n{backend}: {len(steps)} calls in {steps[-1].scenario} scenarios; "
        f"links followed with their value:\n{report}\nall calls: "
        + ", ".join(
            f"{what} {mode} {status}: {n}" for (what, mode, status), n in sorted(calls.items())
        )
    )
