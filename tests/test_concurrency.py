"""Concurrent writers never corrupt data (README, "Concurrent writers"): each promise is tested
with real writers at the same instant (tests/concurrency.py), on both backends, for several
rounds: enough that each test failed on every run against the code before the fix it guards
(the rounds and failure rates are in the issue's closing note).

After every test here, each count tally equals COUNT(*) of its table (`tallies_exact`).
The writers go through the in-process app (its own database threads, as served requests do);
tests/test_live_server.py drives a live `registry serve --workers 2`.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import threading
import uuid

import pytest

from models.caller import Caller
from models.file_views import FILES
from models.generic_file import GenericFile
from models.intellectual_object import IntellectualObject
from models.storage.base import utcnow
from models.storage.db import connection, database
from models.work_item import WorkItem
from registry.web.threads import run_read
from tests.concurrency import at_once, statuses
from tests.deletion_setup import approve_deletion
from tests.fixtures_api import assert_problem
from tests.listing_rows import Scratch
from tests.test_counts import mismatches

ADMIN = "/admin-api/v3"
MEMBER = "/member-api/v3"
_serial = itertools.count(1)


@pytest.fixture(autouse=True)
def tallies_exact(client):
    """Every count tally equals COUNT(*) once the test's concurrent writers are done."""
    yield
    assert mismatches() == []


@pytest.fixture(scope="module")
def home(client):
    """An institution of the module's own, with an institutional admin and user: what the
    tests write goes there and is removed at the end (other modules count the demo data)."""
    with Scratch() as scratch:
        with connection(), database.atomic():
            staff = scratch.staff()
        yield staff


def make_object(home, tag: str = "cc") -> IntellectualObject:
    identifier = f"{home.institution.identifier}/{tag}-{uuid.uuid4().hex[:10]}-{next(_serial)}"
    with connection():
        return IntellectualObject.create(
            title="concurrency test",
            identifier=identifier,
            bag_name=identifier.split("/")[1],
            institution=home.id,
            etag="e" * 32,
        )


def file_body(obj, path: str, size: int = 100, **extra) -> dict:
    return {
        "identifier": f"{obj.identifier}/{path}",
        "intellectual_object_id": obj.id,
        "file_format": "text/plain",
        "size": size,
        "uuid": str(uuid.uuid4()),
        **extra,
    }


def counters(client, admin, object_id: int) -> dict:
    shown = client.get(f"{ADMIN}/objects/show/{object_id}", headers=admin)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    return {
        name: body[name] for name in ("file_count", "size", "payload_file_count", "payload_size")
    }


def counted(obj) -> dict:
    """The counters as the object's active files say they must be."""
    G = GenericFile
    with connection():
        files = list(
            G.select(G.identifier, G.size)
            .where((G.intellectual_object == obj.id) & (G.state == "A"))
            .tuples()
        )
    payload = [
        size for identifier, size in files if identifier.startswith(f"{obj.identifier}/data/")
    ]
    return {
        "file_count": len(files),
        "size": sum(size for _, size in files),
        "payload_file_count": len(payload),
        "payload_size": sum(payload),
    }


# -- object counters -----------------------------------------------------------------------------

ROUNDS = 12


def test_object_counters_under_a_mix_of_concurrent_writers(client, admin, home):
    """Batches, single creates, updates (sizes; a deleted file made active again) and deletes
    of one object's files, all at once: its file_count, size, payload_file_count and
    payload_size equal its active files after.
    Before the fix (PostgreSQL): counts taken from a snapshot older than another writer's
    commit, on most rounds."""
    for round_ in range(ROUNDS):
        obj = make_object(home)
        seed = [
            file_body(obj, f"data/seed/{i}" if i % 2 else f"tag/seed-{i}.txt", size=10 + i)
            for i in range(7)
        ]
        seed[6]["state"] = "D"  # a deleted file that an update brings back
        created = client.post(f"{ADMIN}/files/create_batch/{home.id}", json=seed, headers=admin)
        assert created.status_code == 201, created.text
        seeded = [row["id"] for row in created.json()["results"]]
        updated, deleted = seeded[:3] + seeded[6:], seeded[3:5]
        for file_id in deleted:
            approve_deletion(obj.id, file_id)
        shown = {i: client.get(f"{ADMIN}/files/show/{i}", headers=admin).json() for i in updated}

        def batch(n, obj=obj):
            body = [
                file_body(obj, f"data/b{n}/{i}" if i % 3 else f"b{n}-{i}.txt", size=n + i)
                for i in range(25)
            ]
            return lambda: client.post(
                f"{ADMIN}/files/create_batch/{home.id}", json=body, headers=admin
            )

        def single(n, obj=obj):
            body = file_body(obj, f"data/s/{n}" if n % 2 else f"s-{n}.txt", size=1000 + n)
            return lambda: client.post(f"{ADMIN}/files/create/{home.id}", json=body, headers=admin)

        def update(file_id, shown=shown):
            body = {**shown[file_id], "size": shown[file_id]["size"] + 5000, "state": "A"}
            return lambda: client.put(f"{ADMIN}/files/update/{file_id}", json=body, headers=admin)

        def delete(file_id):
            return lambda: client.delete(f"{ADMIN}/files/delete/{file_id}", headers=admin)

        calls = (
            [batch(n) for n in range(8)]
            + [single(n) for n in range(10)]
            + [update(i) for i in updated]
            + [delete(i) for i in deleted]
        )
        outcomes = at_once(calls)
        assert statuses(outcomes) == [200] * 6 + [201] * 18, [
            o.value.text for o in outcomes if o.status not in (200, 201)
        ]
        assert counters(client, admin, obj.id) == counted(obj), f"round {round_}"


# -- unique keys: exactly one winner -------------------------------------------------------------


def test_unique_identifiers_and_uuids_have_one_winner(client, admin, home):
    """The same object identifier, file identifier, file UUID or event identifier sent by
    several writers at once: exactly one 201, every other 409, one row stored."""
    for _ in range(3):
        identifier = f"{home.institution.identifier}/uq-{uuid.uuid4().hex[:12]}"
        body = {"title": "one winner", "identifier": identifier}
        outcomes = at_once(
            [
                lambda body=body: client.post(
                    f"{ADMIN}/objects/create/{home.id}", json=body, headers=admin
                )
            ]
            * 6
        )
        assert statuses(outcomes) == [201] + [409] * 5
        with connection():
            assert (
                IntellectualObject.select()
                .where(IntellectualObject.identifier == identifier)
                .count()
                == 1
            )

        obj = make_object(home)
        same_path = [file_body(obj, "data/same.txt") for _ in range(6)]
        same_uuid = [file_body(obj, f"data/u{i}.txt") for i in range(6)]
        for body in same_uuid:
            body["uuid"] = same_uuid[0]["uuid"]
        event = {
            "identifier": str(uuid.uuid4()),
            "event_type": "ingestion",
            "date_time": "2024-05-01T12:00:00Z",
            "outcome": "Success",
            "agent": "tests",
            "detail": "d",
            "object": "o",
            "outcome_detail": "od",
            "outcome_information": "oi",
            "institution_id": home.id,
            "intellectual_object_id": obj.id,
        }
        calls = [
            lambda b=b: client.post(f"{ADMIN}/files/create/{home.id}", json=b, headers=admin)
            for b in same_path + same_uuid
        ] + [
            lambda event=event: client.post(f"{ADMIN}/events/create", json=event, headers=admin)
        ] * 6
        outcomes = at_once(calls)
        assert statuses(outcomes[:6]) == [201] + [409] * 5
        assert statuses(outcomes[6:12]) == [201] + [409] * 5
        assert statuses(outcomes[12:]) == [201] + [409] * 5
        for outcome in outcomes:
            if outcome.status == 409:
                assert_problem(outcome.value, 409)
        G = GenericFile
        with connection():
            assert G.select().where(G.intellectual_object == obj.id).count() == 2
        assert counters(client, admin, obj.id) == counted(obj)


def test_batches_are_all_or_nothing_under_concurrency(client, admin, home):
    """Concurrent batches into one object, each sharing one identifier with the next: a batch
    answered 201 stored all of its files, a batch answered 409 none of them, and each shared
    identifier belongs to exactly one stored file."""
    for _ in range(3):
        obj = make_object(home)
        shared = [f"data/shared-{i}.txt" for i in range(6)]
        bodies = []
        for n in range(6):
            body = [file_body(obj, f"data/ab{n}/{i}") for i in range(25)]
            body += [file_body(obj, shared[n]), file_body(obj, shared[(n + 1) % 6])]
            bodies.append(body)
        outcomes = at_once(
            [
                lambda b=b: client.post(
                    f"{ADMIN}/files/create_batch/{home.id}", json=b, headers=admin
                )
                for b in bodies
            ]
        )
        assert set(statuses(outcomes)) <= {201, 409}
        G = GenericFile
        with connection():
            stored = dict(
                G.select(G.uuid, G.identifier).where(G.intellectual_object == obj.id).tuples()
            )
        winners = 0
        for body, outcome in zip(bodies, outcomes, strict=True):
            mine = [f["uuid"] for f in body]
            if outcome.status == 201:
                winners += 1
                assert all(key in stored for key in mine)
            else:
                assert_problem(outcome.value, 409)
                assert not any(key in stored for key in mine)
        assert winners >= 1
        assert len(stored) == winners * 27
        for path in shared:
            assert list(stored.values()).count(f"{obj.identifier}/{path}") <= 1
        assert counters(client, admin, obj.id) == counted(obj)


# -- restores and deletion requests: one winner, the others told which --------------------------


def with_one_file(home):
    """An object with one active file and a successful ingest (what a restore copies)."""
    obj = make_object(home, "rs")
    institution_id = home.id
    with connection(), database.atomic():
        f = GenericFile.create(
            file_format="text/plain",
            size=10,
            identifier=f"{obj.identifier}/data/f.txt",
            intellectual_object=obj,
            institution=institution_id,
            uuid=str(uuid.uuid4()),
        )
        WorkItem.create(
            intellectual_object=obj,
            name=f"{obj.bag_name}.tar",
            etag="f" * 32,
            bucket="aptrust.receiving.example.edu",
            user="admin@example.edu",
            action="Ingest",
            stage="Cleanup",
            status="Success",
            bag_date=utcnow(),
            date_processed=utcnow(),
            institution=institution_id,
        )
    return obj, f


@pytest.mark.parametrize(
    "api, kind", [("member", "objects"), ("member", "files"), ("admin", "objects")]
)
def test_restore_stampede_has_one_winner_and_names_it(client, world, home, api, kind):
    """Restores of one object (or file) asked at once: one 201, the others 409 naming the
    work item the winner queued (`existing_id`, and `existing`, its path in the API called),
    as a client whose first answer was lost needs."""
    for _ in range(3):
        obj, f = with_one_file(home)
        if api == "member":
            key = obj.id if kind == "objects" else f.id
            url, headers = f"{MEMBER}/{kind}/{key}/restore", home.headers["user"]
        else:
            url, headers = f"{ADMIN}/objects/init_restore/{obj.id}", world["sysadmin"].headers
        outcomes = at_once([lambda url=url, headers=headers: client.post(url, headers=headers)] * 8)
        assert statuses(outcomes) == [201] + [409] * 7
        [winner] = [o.value.json() for o in outcomes if o.status == 201]
        prefix = MEMBER if api == "member" else ADMIN
        for outcome in outcomes:
            if outcome.status == 409:
                problem = assert_problem(outcome.value, 409)
                assert problem["existing_id"] == winner["id"]
                assert problem["existing"] == f"{prefix}/items/show/{winner['id']}"
        assert client.get(problem["existing"], headers=headers).json()["id"] == winner["id"]


@pytest.mark.parametrize("kind", ["objects", "files"])
def test_deletion_request_stampede_has_one_winner_and_names_it(client, home, kind):
    """Deletion requests for one object (or file) filed at once: one 201, the others 409
    naming the request that was filed."""
    headers = home.headers["admin"]
    for _ in range(3):
        obj, f = with_one_file(home)
        key = obj.id if kind == "objects" else f.id
        outcomes = at_once(
            [lambda key=key: client.post(f"{MEMBER}/{kind}/{key}/delete", headers=headers)] * 6
        )
        assert statuses(outcomes) == [201] + [409] * 5
        [winner] = [o.value.json() for o in outcomes if o.status == 201]
        for outcome in outcomes:
            if outcome.status == 409:
                problem = assert_problem(outcome.value, 409)
                assert problem["existing_id"] == winner["id"]
                assert problem["existing"] == f"{MEMBER}/deletions/show/{winner['id']}"
        # The winner is decided, so that the object is free for the next test's requests.
        assert (
            client.post(f"{MEMBER}/deletions/{winner['id']}/cancel", headers=headers).status_code
            == 200
        )


def test_approval_races_have_one_winner(client, home):
    """Approvals, and approvals racing cancellations, of one deletion request: exactly one
    decision is taken; an approval queues one set of Delete work items."""
    headers = home.headers["admin"]
    for mix in ("approve", "approve or cancel", "approve", "approve or cancel"):
        obj, _ = with_one_file(home)
        filed = client.post(f"{MEMBER}/objects/{obj.id}/delete", headers=headers)
        assert filed.status_code == 201, filed.text
        request_id = filed.json()["id"]
        verbs = ["approve"] * 6 if mix == "approve" else ["approve", "cancel"] * 3
        outcomes = at_once(
            [
                lambda v=v, request_id=request_id: client.post(
                    f"{MEMBER}/deletions/{request_id}/{v}", headers=headers
                )
                for v in verbs
            ]
        )
        assert statuses(outcomes) == [200] + [409] * 5
        [decided] = [o.value.json() for o in outcomes if o.status == 200]
        with connection():
            items = (
                WorkItem.select()
                .where((WorkItem.deletion_request == request_id) & (WorkItem.action == "Delete"))
                .count()
            )
        assert items == (1 if decided["status"] == "Approved" else 0)
        if items:  # finished, so that the object's next requests are not blocked by it
            with connection():
                WorkItem.update(status="Cancelled").where(
                    WorkItem.deletion_request == request_id
                ).execute()


# -- one snapshot per list answer ----------------------------------------------------------------

LIST_CALLS = 1500  # per lister thread


def test_a_list_answers_its_count_and_page_from_one_snapshot(client, backend):
    """Writers add active files and retire old ones (state D) while listers page through the
    active ones: in every answer, the number of results is what its own count says that page
    holds (count - offset, capped by per_page). Both ways of counting are listed: a tally
    (institution and state) and COUNT(*) (by object). Before the fix, on PostgreSQL and SQLite
    alike, some answers had more or fewer results than their count said, or an empty page past
    a count that rows had outgrown."""
    with Scratch() as scratch:
        with connection(), database.atomic():
            institution = scratch.institution()
            obj = IntellectualObject.create(
                title="list",
                identifier=f"{institution.identifier}/list",
                bag_name="list",
                institution=institution,
            )
        sysadmin = Caller(0, "admin@aptrust.org", "admin", 0)
        stop = threading.Event()
        serial = itertools.count()

        def write():
            """Keep about 25 active files: add one, retire the oldest active one, again."""
            G = GenericFile
            try:
                _write_until_stopped(G)
            finally:
                if not database.obj.is_closed():
                    database.obj.close()

        def _write_until_stopped(G):
            with connection():
                while not stop.is_set():
                    n = next(serial)
                    G.insert(
                        file_format="text/plain",
                        size=1,
                        identifier=f"{obj.identifier}/f{n}",
                        intellectual_object=obj,
                        institution=institution,
                        uuid=str(uuid.uuid4()),
                        created_at=utcnow(),
                        updated_at=utcnow(),
                    ).execute()
                    if n >= 25:
                        oldest = (
                            G.select(G.id)
                            .where((G.intellectual_object == obj.id) & (G.state == "A"))
                            .order_by(G.id)
                            .limit(1)
                            .scalar()
                        )
                        G.update(state="D").where(G.id == oldest).execute()

        async def listing(seed):
            """The list as the app reads it: in its database threads (registry.web.threads)."""
            rng = random.Random(seed)
            wrong = []
            for _ in range(LIST_CALLS):
                per_page = rng.choice((10, 50))
                page = rng.choice((1, 2, 3))
                by = rng.choice(
                    ({"institution_id": institution.id}, {"intellectual_object_id": obj.id})
                )
                answer = await run_read(
                    FILES.list, sysadmin, {**by, "state": "A", "page": page, "per_page": per_page}
                )
                expected = max(0, min(per_page, answer.count - (page - 1) * per_page))
                if len(answer.rows) != expected:
                    wrong.append((by, page, per_page, answer.count, len(answer.rows)))
            return wrong

        writers = [threading.Thread(target=write) for _ in range(2)]
        for writer in writers:
            writer.start()
        try:
            outcomes = at_once([lambda s=s: asyncio.run(listing(s)) for s in range(3)])
        finally:
            stop.set()
            for writer in writers:
                writer.join(60)
        wrong = [w for o in outcomes for w in (o.value if o.error is None else [o.error])]
        assert wrong == [], f"{len(wrong)} of {3 * LIST_CALLS} answers: {wrong[:5]}"
