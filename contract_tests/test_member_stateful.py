"""The stateful phase: the spec's OpenAPI links as a Schemathesis state machine, on both backends.

`schema.as_state_machine()` turns each link of spec/member_api_v3.yaml into a rule that takes a
value from an earlier response of the same scenario: a list's first result is shown
(list_objects -> show_object, list_files -> show_file, list_checksums, list_events by
identifier, list_items, list_deletions) or restored (list_objects -> request_object_restore,
list_files -> request_file_restore), and a queued restore's work item is shown (RestoreQueued ->
show_item). Every call of every scenario goes through the suite's checks (harness.CHECKS) and
must carry the security headers.

Where scenarios start. Schemathesis starts scenarios from "root" operations, and takes for roots
the operations it expects to succeed without earlier data. It takes the two restores (POST), but
not the lists: every list has an optional filter naming a resource that no operation creates
(`institution_id`), and Schemathesis 4.32 counts optional filters too. A list would then never be
called and no list link ever followed. Each scenario therefore opens by reading the first page
of every list that has links, as a client would (a positive case of the operation with its query
emptied; Schemathesis revalidates the case, so it is checked like any other). From there on,
Schemathesis picks: restores of generated ids, and every link, the linked value taken from the
responses at hand (now and then a generated value instead, and now and then a negative case).

Determinism. Hypothesis runs derandomized, with no example database, and may replay a
scenario's choices while it generates: the server's answers must depend on those choices alone.
The restores are the machine's only writes (each inserts one work item), so every scenario starts
by deleting the restore work items that earlier scenarios of this test queued, and each starts
from the database the test found. What earlier tests of the session left behind stays as it is:
the member suites' pending restores (asking again rightly answers 409), the admin suite's new
and updated records. So that the first object and the first file of the persona's lists can be
restored whatever ran before, the test makes an object of its own with two files, the most
recently updated of the persona's institution (lists are newest first by default), as
tests/test_restore.py does, and removes them afterwards.

Proof that links are followed: every step is logged with the link it followed and whether the
linked value was sent; the test asserts that every link of the spec was followed with its value,
and that list -> show of objects and files, list -> restore and restore -> show_item answered 2xx.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections import Counter
from dataclasses import dataclass

import hypothesis
import pytest
from hypothesis.stateful import Bundle, initialize
from schemathesis import GenerationMode
from schemathesis.generation.meta import TestPhase
from schemathesis.generation.stateful.state_machine import StepInput

from contract_tests import deletion_flow
from contract_tests.harness import (
    CHECKS,
    STATEFUL_PHASES,
    STATEFUL_SCENARIOS,
    STATEFUL_STEPS,
    accept_documented_rule_violations,
    load_schema,
)
from contract_tests.test_member_api import wrong_security_headers

# admin@test.edu, an institutional admin of test.edu, which has objects, files, events, work
# items and deletion requests of its own; every link leads to a record of test.edu.
PERSONA = "other_admin"

RESTORE_ACTIONS = ("Restore Object", "Restore File", "Glacier Restore")

# The spec's links as (source operationId, link name, target operationId). The state machine
# has exactly these transitions: none inferred.
SPEC_LINKS = {
    ("list_objects", "ShowFirstObject", "show_object"),
    ("list_objects", "RestoreFirstObject", "request_object_restore"),
    ("list_files", "ShowFirstFile", "show_file"),
    ("list_files", "RestoreFirstFile", "request_file_restore"),
    ("list_checksums", "ShowFirstChecksum", "show_checksum"),
    ("list_events", "ShowFirstEvent", "show_event"),
    ("list_items", "ShowFirstItem", "show_item"),
    ("list_deletions", "ShowFirstDeletion", "show_deletion"),
    ("list_alerts", "ShowFirstAlert", "show_alert"),
    ("request_object_restore", "ShowRestoreItem", "show_item"),
    ("request_file_restore", "ShowRestoreItem", "show_item"),
    ("create_key", "RevokeMadeKey", "revoke_key"),
}
# Links that must have answered 2xx, with the linked value sent.
MUST_SUCCEED = {
    ("list_alerts", "ShowFirstAlert", "show_alert"),
    ("list_objects", "ShowFirstObject", "show_object"),
    ("list_files", "ShowFirstFile", "show_file"),
    ("list_objects", "RestoreFirstObject", "request_object_restore"),
    ("list_files", "RestoreFirstFile", "request_file_restore"),
    ("request_object_restore", "ShowRestoreItem", "show_item"),
    ("request_file_restore", "ShowRestoreItem", "show_item"),
}


@dataclass(frozen=True)
class Step:
    scenario: int
    source: str | None  # the operationId the link starts from; None for an opening or root call
    link: str | None
    target: str  # the operationId called
    status: int
    linked: bool  # the link's value was extracted and sent (not a generated one)
    mode: str  # positive / negative

    def __str__(self) -> str:
        via = (
            f"{self.source} -[{self.link}{'' if self.linked else ', value not used'}]-> "
            if self.link
            else ""
        )
        return f"#{self.scenario} {via}{self.target} ({self.mode}): {self.status}"


def _operation_id(operation) -> str:
    return operation.definition.raw["operationId"]


def _link_name(transition) -> str:
    # Transition ids read "GET /a -> [200] LinkName -> GET /b".
    return transition.id.split("] ", 1)[1].split(" -> ", 1)[0]


def _last_work_item_id() -> int:
    from models.storage.db import connection
    from models.work_item import WorkItem

    with connection():
        last = WorkItem.select(WorkItem.id).order_by(WorkItem.id.desc()).first()
    return last.id if last else 0


def _delete_restores_after(mark: int) -> int:
    from models.storage.db import connection
    from models.work_item import WorkItem

    with connection():
        return (
            WorkItem.delete()
            .where((WorkItem.id > mark) & WorkItem.action.in_(RESTORE_ACTIONS))
            .execute()
        )


def _opening_rule(operation):
    """An @initialize rule: the first page of `operation`, sent and checked as a root step."""
    positive = operation.as_strategy(
        generation_mode=GenerationMode.POSITIVE, phase=TestPhase.STATEFUL
    )

    # Schemathesis files each response under the bundle its links read from, whatever target a
    # rule names.
    @initialize(target=Bundle("catch_all"), case=positive)
    def open_first_page(self, case):
        case.query = {}  # marks the query changed: Schemathesis revalidates the case's metadata
        step = StepInput.initial(case)
        # What Schemathesis's own root rules do before and around a call.
        self.recorder.record_case(case=case)
        self.control.record_step(step, self.recorder)
        return self._step(step)

    open_first_page.__name__ = f"first_page_of_{_operation_id(operation)}"
    return open_first_page


@pytest.fixture
def newest_object(app, world):
    """An active object of the persona's institution with two active files, all three updated
    after every other object and file of that institution; removed afterwards."""
    from peewee import fn

    from models.generic_file import GenericFile
    from models.intellectual_object import IntellectualObject
    from models.stats import refresh_object_stats
    from models.storage.base import utcnow
    from models.storage.db import connection, database
    from models.work_item import WorkItem

    institution = world[PERSONA].institution_id
    name = {id_: ident for ident, id_ in world.institutions.items()}[institution]
    identifier = f"{name}/stateful-contract-run"
    O, F = IntellectualObject, GenericFile
    with connection(), database.atomic():
        latest = [
            O.select(fn.MAX(O.updated_at)).where(O.institution == institution),
            F.select(fn.MAX(F.updated_at)).where(F.institution == institution),
        ]
        when = max([utcnow(), *(query.scalar() or utcnow() for query in latest)])
        when += dt.timedelta(seconds=1)
        obj = O.create(
            title="Stateful contract run",
            identifier=identifier,
            bag_name=identifier.split("/", 1)[1],
            institution=institution,
            state="A",
            etag="e" * 32,
            storage_option="Standard",
            created_at=when,
            updated_at=when,
        )
        for path in ("bagit.txt", "data/file-001.txt"):
            F.create(
                file_format="text/plain",
                size=100,
                identifier=f"{identifier}/{path}",
                intellectual_object=obj,
                institution=institution,
                state="A",
                storage_option="Standard",
                uuid=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{identifier}/{path}")),
                created_at=when,
                updated_at=when,
            )
        refresh_object_stats([obj.id])
    yield obj.id
    with connection(), database.atomic():
        files = F.select(F.id).where(F.intellectual_object == obj.id)
        WorkItem.delete().where(
            (WorkItem.intellectual_object == obj.id) | WorkItem.generic_file.in_(files)
        ).execute()
        F.delete().where(F.intellectual_object == obj.id).execute()
        O.delete().where(O.id == obj.id).execute()


@pytest.fixture(scope="session")
def stateful_schema(app, world):
    # The deletion flow has no links, and its writes would outlive a scenario (a request filed
    # in one makes the same call a 409 in the next): test_member_api.py runs it, undone after.
    schema = load_schema(app, world[PERSONA].headers, phases=STATEFUL_PHASES).exclude(
        operation_id=deletion_flow.OPERATIONS
    )
    # POST /member-api/v3/keys answers 422 to schema-valid labels and expiries it refuses.
    accept_documented_rule_violations(schema)
    stateful = schema.config.phases.stateful
    stateful.generation.update(max_examples=STATEFUL_SCENARIOS)
    stateful.max_steps = STATEFUL_STEPS
    # The machine is the spec's links: none inferred from Location headers or from parameter
    # and property names.
    stateful.inference.algorithms = []
    return schema


def test_links_as_state_machine(stateful_schema, newest_object, backend):
    schema = stateful_schema
    APIWorkflow = schema.as_state_machine()

    links = [
        link for entry in APIWorkflow._transitions.operations.values() for link in entry.outgoing
    ]
    assert {
        (_operation_id(link.source), link.name, _operation_id(link.target)) for link in links
    } == SPEC_LINKS
    list_operations = {
        link.source.label: link.source
        for link in links
        if link.source.method == "get" and not link.source.path_parameters
    }
    assert len(list_operations) == len(
        {source for source, _, _ in SPEC_LINKS if source.startswith("list_")}
    )

    steps: list[Step] = []
    checks_run: Counter = Counter()
    scenarios = itertools.count(1)
    first_objects: set[int] = set()  # the object of the first object and file of each first page
    mark = _last_work_item_id()

    @schema.hook("after_validate")
    def count_checks(context, case, response, results):
        checks_run.update(result.name for result in results)

    class Recorded(APIWorkflow):
        def setup(self):
            # Each scenario starts from the database the test found (see the module docstring).
            _delete_restores_after(mark)
            self.scenario = next(scenarios)
            self.input = None
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
            steps.append(
                Step(
                    self.scenario,
                    source,
                    link,
                    _operation_id(case.operation),
                    response.status_code,
                    transition is not None and self.input.is_applied,
                    case.meta.generation.mode.value,
                )
            )
            if steps[-1].target in ("list_objects", "list_files") and response.status_code == 200:
                first = response.json()["results"][0]
                first_objects.add(first.get("intellectual_object_id", first["id"]))

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            super().validate_response(response, case, additional_checks, **kwargs)
            wrong = wrong_security_headers(case.method, response)
            assert not wrong, f"{steps[-1]} without its security headers: {wrong}"

    for operation in list_operations.values():
        rule = _opening_rule(operation)
        setattr(Recorded, rule.__name__, rule)

    settings = hypothesis.settings(
        schema.config.get_hypothesis_settings(phase="stateful", apply_ci_profile=False),
        # As Schemathesis runs its state machines: generate only (a failing scenario is
        # reported as it ran), no health checks.
        phases=[hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    assert settings.derandomize and settings.database is None and settings.deadline is None
    assert (settings.max_examples, settings.stateful_step_count) == (
        STATEFUL_SCENARIOS,
        STATEFUL_STEPS,
    )
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
        _delete_restores_after(mark)
        schema.hooks.unregister(count_checks)

    assert first_objects == {newest_object}
    # Every check ran on every call.
    assert checks_run == Counter({name: len(steps) for name in CHECKS}), checks_run

    followed = Counter((s.source, s.link, s.target, s.status) for s in steps if s.linked)
    report = "\n".join(
        f"{n:4} {src} -[{link}]-> {dst}: {status}"
        for (src, link, dst, status), n in sorted(followed.items())
    )
    not_followed = SPEC_LINKS - {(src, link, dst) for src, link, dst, _ in followed}
    assert not not_followed, f"links never followed on {backend}: {not_followed}\n{report}"
    succeeded = {(src, link, dst) for src, link, dst, status in followed if 200 <= status < 300}
    missing = MUST_SUCCEED - succeeded
    assert not missing, f"links never followed to a 2xx on {backend}: {missing}\n{report}"
    calls = Counter((s.target if s.link is None else "via a link", s.mode, s.status) for s in steps)
    print(
        f"\n{backend}: {len(steps)} calls in {steps[-1].scenario} scenarios; "
        f"links followed with their value:\n{report}\nall calls: "
        + ", ".join(
            f"{what} {mode} {status}: {n}" for (what, mode, status), n in sorted(calls.items())
        )
    )
