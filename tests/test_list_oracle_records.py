"""The checksum, event, work item, deletion request and alert lists answer what the oracle says.

Like tests/test_list_oracle.py (objects and files): each example inserts generated rows into two
fresh institutions (the caller's, and a neighbour whose rows must never show), then sends a few
generated queries (any filter the spec declares for the operation, with values drawn mostly
from all inserted rows, the neighbour's included; any sort; paging) as an
institutional user of the first, and compares `count`, the ids in order, `next`/`previous`
presence and every field of every returned row with tests/list_oracle.py's answer.

Resource-specific semantics encoded here rather than read from the engine:
- events and work items: fields of the LEFT-joined file / object are null when there is none;
- deletion requests: `status` is Rejected once cancelled, else Approved once confirmed, else
  Awaiting Approval; `file_count` / `object_count` count the request's linked files / objects;
- alerts: one row per alert and recipient (an alert without recipient is one row with a null
  user), and a member sees only the rows of their institution addressed to themselves.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from models.alert import Alert, AlertUser
from models.checksum import Checksum
from models.deletion_request import DeletionRequest, DeletionRequestFile, DeletionRequestObject
from models.enums import (
    ALERT_TYPES,
    BAGIT_PROFILES,
    CHECKSUM_ALGORITHMS,
    COMPLETED_STATUSES,
    EVENT_OUTCOMES,
    EVENT_TYPES,
    STATES,
    STORAGE_OPTIONS,
    WORK_ITEM_ACTIONS,
    WORK_ITEM_STAGES,
    WORK_ITEM_STATUSES,
)
from models.generic_file import GenericFile
from models.intellectual_object import IntellectualObject
from models.premis_event import PremisEvent
from models.storage.db import connection, database
from models.user import User
from models.work_item import WorkItem
from tests.list_oracle import answer
from tests.list_strategies import instants, maybe_text, queries, text
from tests.listing_rows import Scratch
from tests.test_list_oracle import rendered, sized, unique

CHECKSUMS = "/member-api/v3/checksums"
EVENTS = "/member-api/v3/events"
ITEMS = "/member-api/v3/items"
DELETIONS = "/member-api/v3/deletions"
ALERTS = "/member-api/v3/alerts"
# Each resource's order when no sort is asked for (spec: the `sort` parameter's description).
DEFAULT_SORT = {
    CHECKSUMS: [("datetime", "desc")],
    EVENTS: [("date_time", "desc")],
    ITEMS: [("updated_at", "desc")],
    DELETIONS: [("requested_at", "desc")],
    ALERTS: [("created_at", "desc")],
}
QUERIES_PER_DATASET = 4
# Shrinking a failure of these multi-table examples can take minutes; it is off unless
# REGISTRY_TEST_SHRINK=1 (the failing example is printed either way).
PHASES = [p for p in Phase if p != Phase.shrink or os.environ.get("REGISTRY_TEST_SHRINK") == "1"]
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    phases=PHASES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MINE = st.sampled_from([True, True, False])


def check(client, path: str, member, visible: list[dict], query, key=lambda r: r["id"]) -> None:
    response = client.get(path, params=query.params, headers=member.headers)
    assert response.status_code == 200, (query.params, response.text)
    body = response.json()
    count, expected = answer(
        visible, query.conditions, query.sort, query.page, query.per_page, DEFAULT_SORT[path]
    )
    assert body["count"] == count, query.params
    assert [key(r) for r in body["results"]] == [key(r) for r in expected], query.params
    for got, want in zip(body["results"], map(rendered, expected), strict=True):
        assert got.keys() == want.keys(), query.params
        assert {k: v for k, v in got.items() if v != want[k]} == {}, (query.params, want)
    assert (body["next"] != "") == (query.page * query.per_page < count)
    assert (body["previous"] != "") == (query.page > 1)


def user_of(member) -> User:
    return User.get(User.email == member.headers["X-Pharos-API-User"])


# -- a pool of objects and files in both institutions -----------------------------------------


def object_draft():
    return st.fixed_dictionaries(
        {
            "mine": MINE,
            "suffix": text(),
            "alt_identifier": maybe_text(),
            "bag_group_identifier": maybe_text(),
            "bagit_profile_identifier": st.sampled_from(BAGIT_PROFILES),
            "internal_sender_identifier": maybe_text(),
            "source_organization": maybe_text(),
            "storage_option": st.sampled_from(STORAGE_OPTIONS),
            "files": st.lists(st.tuples(text(), st.sampled_from(STATES)), min_size=1, max_size=3),
        }
    )


def pools():
    return st.lists(object_draft(), min_size=1, max_size=4)


def insert_pool(member, neighbour, drafts: list[dict]):
    """Objects and their files; returns [(object, [files])]."""
    out = []
    for n, draft in enumerate(drafts):
        institution = member.institution if draft["mine"] else neighbour
        fields = {
            k: draft[k]
            for k in (
                "alt_identifier",
                "bag_group_identifier",
                "bagit_profile_identifier",
                "internal_sender_identifier",
                "source_organization",
                "storage_option",
            )
        }
        identifier = f"{member.institution.identifier}/{draft['suffix']}{unique(n)}"
        obj = IntellectualObject.create(
            identifier=identifier, title="t", bag_name=f"bag-{n}", institution=institution, **fields
        )
        files = [
            GenericFile.create(
                identifier=f"{identifier}/{name}{unique(obj.id, i)}",
                intellectual_object=obj,
                institution=institution,
                size=i,
                state=state,
                file_format="text/plain",
                uuid=f"{obj.id:08x}-0000-4000-8000-{i:012x}",
            )
            for i, (name, state) in enumerate(draft["files"])
        ]
        out.append((obj, files))
    return out


def setup(scratch: Scratch, pool_drafts: list[dict]):
    neighbour = scratch.institution()
    member = scratch.member()
    return member, neighbour, insert_pool(member, neighbour, pool_drafts)


def pick(items: list, index: int):
    return items[index % len(items)]


# -- checksums --------------------------------------------------------------------------------


def checksum_drafts():
    return sized(
        1,
        12,
        st.fixed_dictionaries(
            {
                "object": st.integers(0, 3),
                "file": st.integers(0, 2),
                "algorithm": st.sampled_from(CHECKSUM_ALGORITHMS),
                "datetime": instants(),
                "digest": text(1),
                "created_at": instants(),
                "updated_at": instants(),
            }
        ),
    )


def insert_checksums(pool, drafts):
    rows = []
    for d in drafts:
        obj, files = pick(pool, d["object"])
        gf = pick(files, d["file"])
        fields = {k: d[k] for k in ("algorithm", "datetime", "digest", "created_at", "updated_at")}
        c = Checksum.create(generic_file=gf, institution=gf.institution_id, **fields)
        rows.append(
            {
                "id": c.id,
                **fields,
                "state": gf.state,
                "generic_file_identifier": gf.identifier,
                "generic_file_id": gf.id,
                "intellectual_object_id": obj.id,
                "institution_id": gf.institution_id,
            }
        )
    return rows


@SETTINGS
@given(pool=pools(), drafts=checksum_drafts(), data=st.data())
def test_checksums_list_matches_oracle(client, pool, drafts, data):
    with Scratch() as scratch:
        with connection(), database.atomic():
            member, _, objects = setup(scratch, pool)
            rows = insert_checksums(objects, drafts)
        visible = [r for r in rows if r["institution_id"] == member.id]
        for _ in range(QUERIES_PER_DATASET):
            check(
                client, CHECKSUMS, member, visible, data.draw(queries(CHECKSUMS, rows, member.id))
            )


# -- PREMIS events ----------------------------------------------------------------------------


def event_drafts():
    return sized(
        1,
        12,
        st.fixed_dictionaries(
            {
                "object": st.integers(0, 3),
                "file": st.none() | st.integers(0, 2),
                "identifier": st.uuids(version=4).map(str),
                "event_type": st.sampled_from(EVENT_TYPES),
                "outcome": st.sampled_from(EVENT_OUTCOMES),
                "date_time": instants(),
                "created_at": instants(),
                "updated_at": instants(),
                "agent": maybe_text(),
                "detail": maybe_text(),
                "object_": maybe_text(),
                "old_uuid": maybe_text(),
                "outcome_detail": maybe_text(),
                "outcome_information": maybe_text(),
            }
        ),
    )


def insert_events(pool, institutions: dict, drafts):
    rows = []
    for n, d in enumerate(drafts):
        obj, files = pick(pool, d["object"])
        gf = None if d["file"] is None else pick(files, d["file"])
        fields = {
            k: d[k]
            for k in (
                "event_type",
                "outcome",
                "date_time",
                "created_at",
                "updated_at",
                "agent",
                "detail",
                "old_uuid",
                "outcome_detail",
                "outcome_information",
            )
        }
        fields["object"] = d["object_"]
        # Random order, but unique: the last 8 hex digits number the event.
        fields["identifier"] = f"{d['identifier'][:-8]}{n:08x}"
        e = PremisEvent.create(
            intellectual_object=obj, generic_file=gf, institution=obj.institution_id, **fields
        )
        rows.append(
            {
                "id": e.id,
                **fields,
                "generic_file_id": gf and gf.id,
                "institution_id": obj.institution_id,
                "intellectual_object_id": obj.id,
                "generic_file_identifier": gf and gf.identifier,
                "institution_name": institutions[obj.institution_id].name,
                "intellectual_object_identifier": obj.identifier,
            }
        )
    return rows


@SETTINGS
@given(pool=pools(), drafts=event_drafts(), data=st.data())
def test_events_list_matches_oracle(client, pool, drafts, data):
    with Scratch() as scratch:
        with connection(), database.atomic():
            member, neighbour, objects = setup(scratch, pool)
            institutions = {i.id: i for i in (member.institution, neighbour)}
            rows = insert_events(objects, institutions, drafts)
        visible = [r for r in rows if r["institution_id"] == member.id]
        for _ in range(QUERIES_PER_DATASET):
            check(client, EVENTS, member, visible, data.draw(queries(EVENTS, rows, member.id)))


# -- work items -------------------------------------------------------------------------------

OBJECT_FIELDS = (
    "alt_identifier",
    "bagit_profile_identifier",
    "bag_group_identifier",
    "internal_sender_identifier",
    "source_organization",
    "storage_option",
)


def item_drafts():
    return sized(
        1,
        12,
        st.fixed_dictionaries(
            {
                "mine": MINE,
                "object": st.none() | st.integers(0, 3),
                "file": st.none() | st.integers(0, 2),
                "name": text(),
                "etag": text(),
                "bucket": text(),
                "user": text(),
                "note": maybe_text(),
                "action": st.sampled_from(WORK_ITEM_ACTIONS),
                "stage": st.sampled_from(WORK_ITEM_STAGES),
                "status": st.sampled_from(WORK_ITEM_STATUSES),
                "outcome": maybe_text(),
                "bag_date": instants(),
                "date_processed": instants(),
                "retry": st.booleans(),
                "node": maybe_text(),
                "pid": st.integers(0, 2**31 - 1),
                "needs_admin_review": st.booleans(),
                "queued_at": st.none() | instants(),
                "size": st.integers(0, 10**12),
                "stage_started_at": st.none() | instants(),
                "aptrust_approver": maybe_text(),
                "inst_approver": maybe_text(),
                "created_at": instants(),
                "updated_at": instants(),
            }
        ),
    )


def insert_items(pool, member, neighbour, drafts):
    rows, pending_restores = [], set()
    for d in drafts:
        fields = {k: v for k, v in d.items() if k not in ("mine", "object", "file")}
        obj, gf = None, None
        if d["object"] is not None:
            obj, files = pick(pool, d["object"])
            gf = None if d["file"] is None else pick(files, d["file"])
            institution = member.institution if obj.institution_id == member.id else neighbour
        else:
            institution = member.institution if d["mine"] else neighbour
        # The schema allows one pending restore per object and per file (a partial unique
        # index): a second one is inserted as already finished.
        target = (
            ("object", obj and obj.id)
            if d["action"] in ("Restore Object", "Glacier Restore")
            else ("file", gf and gf.id)
            if d["action"] == "Restore File"
            else None
        )
        if target and target[1] is not None and fields["status"] not in COMPLETED_STATUSES:
            if target in pending_restores:
                fields["status"] = "Success"
            pending_restores.add(target)
        w = WorkItem.create(
            intellectual_object=obj, generic_file=gf, institution=institution, **fields
        )
        rows.append(
            {
                "id": w.id,
                **fields,
                **{k: obj and getattr(obj, k) for k in OBJECT_FIELDS},
                "object_identifier": obj and obj.identifier,
                "intellectual_object_id": obj and obj.id,
                "generic_file_id": gf and gf.id,
                "generic_file_identifier": gf and gf.identifier,
                "deletion_request_id": None,
                "institution_id": institution.id,
                "institution_name": institution.name,
                "institution_identifier": institution.identifier,
            }
        )
    return rows


@SETTINGS
@given(pool=pools(), drafts=item_drafts(), data=st.data())
def test_items_list_matches_oracle(client, pool, drafts, data):
    with Scratch() as scratch:
        with connection(), database.atomic():
            member, neighbour, objects = setup(scratch, pool)
            rows = insert_items(objects, member, neighbour, drafts)
        visible = [r for r in rows if r["institution_id"] == member.id]
        for _ in range(QUERIES_PER_DATASET):
            check(client, ITEMS, member, visible, data.draw(queries(ITEMS, rows, member.id)))


# -- deletion requests ------------------------------------------------------------------------


def deletion_drafts():
    decision = st.none() | st.tuples(st.integers(0, 2), st.none() | instants())
    return sized(
        1,
        10,
        st.fixed_dictionaries(
            {
                "mine": MINE,
                "requested_by": st.integers(0, 2),
                "requested_at": instants(),
                "confirmed": decision,
                "cancelled": decision,
                "files": st.lists(st.integers(0, 11), unique=True, max_size=3),
                "objects": st.lists(st.integers(0, 3), unique=True, max_size=2),
            }
        ),
    )


def user_names():
    return st.lists(text(), min_size=2, max_size=2)


def status_of(confirmed_by, cancelled_by) -> str:
    if cancelled_by is not None:
        return "Rejected"
    if confirmed_by is not None:
        return "Approved"
    return "Awaiting Approval"


def insert_users(member, neighbour, names: list[str]) -> dict[int, list[User]]:
    """Three users of each institution (the member's own first), names from `names`."""
    users = {member.id: [user_of(member)], neighbour.id: []}
    for institution in (member.institution, neighbour):
        while len(users[institution.id]) < 3:
            k = len(users[institution.id])
            users[institution.id].append(
                User.create(
                    email=f"u{k}@{institution.identifier}",
                    name=names[k % len(names)],
                    role="institutional_admin",
                    institution=institution,
                )
            )
    return users


def insert_deletions(pool, member, neighbour, users, drafts):
    rows = []
    for d in drafts:
        institution = member.institution if d["mine"] else neighbour
        people = users[institution.id]
        requester = pick(people, d["requested_by"])
        decided = {}
        for what in ("confirmed", "cancelled"):
            who, when = d[what] or (None, None)
            decided[what] = None if who is None else pick(people, who)
            decided[what + "_at"] = when
        r = DeletionRequest.create(
            institution=institution,
            requested_by=requester,
            requested_at=d["requested_at"],
            encrypted_confirmation_token="x" * 20,
            confirmed_by=decided["confirmed"],
            confirmed_at=decided["confirmed_at"],
            cancelled_by=decided["cancelled"],
            cancelled_at=decided["cancelled_at"],
        )
        files = {gf.id for _, fs in pool for gf in fs}
        files = sorted(files)
        linked_files = sorted({files[i % len(files)] for i in d["files"]})
        linked_objects = sorted({pick(pool, i)[0].id for i in d["objects"]})
        for f in linked_files:
            DeletionRequestFile.create(deletion_request=r, generic_file=f)
        for o in linked_objects:
            DeletionRequestObject.create(deletion_request=r, intellectual_object=o)
        row = {
            "id": r.id,
            "institution_id": institution.id,
            "institution_name": institution.name,
            "institution_identifier": institution.identifier,
            "requested_by_id": requester.id,
            "requested_by_name": requester.name,
            "requested_by_email": requester.email,
            "requested_at": d["requested_at"],
            "file_count": len(linked_files),
            "object_count": len(linked_objects),
            "status": status_of(decided["confirmed"], decided["cancelled"]),
        }
        for what in ("confirmed", "cancelled"):
            who = decided[what]
            row.update(
                {
                    f"{what}_by_id": who and who.id,
                    f"{what}_by_name": who and who.name,
                    f"{what}_by_email": who and who.email,
                    f"{what}_at": decided[what + "_at"],
                }
            )
        rows.append(row)
    return rows


@SETTINGS
@given(pool=pools(), names=user_names(), drafts=deletion_drafts(), data=st.data())
def test_deletions_list_matches_oracle(client, pool, names, drafts, data):
    with Scratch() as scratch:
        with connection(), database.atomic():
            member, neighbour, objects = setup(scratch, pool)
            users = insert_users(member, neighbour, names)
            rows = insert_deletions(objects, member, neighbour, users, drafts)
        visible = [r for r in rows if r["institution_id"] == member.id]
        for _ in range(QUERIES_PER_DATASET):
            check(
                client, DELETIONS, member, visible, data.draw(queries(DELETIONS, rows, member.id))
            )


# -- alerts -----------------------------------------------------------------------------------


def alert_drafts():
    recipient = st.tuples(st.integers(0, 5), st.none() | instants(), st.none() | instants())
    return sized(
        1,
        10,
        st.fixed_dictionaries(
            {
                # The member's institution, the neighbour, or none (a system-wide alert).
                "institution": st.sampled_from(["mine", "mine", "mine", "neighbour", None]),
                "type": st.sampled_from(ALERT_TYPES),
                "subject": text(),
                "content": text(),
                "created_at": instants(),
                "recipients": st.lists(recipient, max_size=4, unique_by=lambda r: r[0]),
            }
        ),
    )


def insert_alerts(member, neighbour, users, drafts):
    """Alerts and their recipients (any of six users, the member's own user first, three of
    them at the neighbour); returns one expected row per alert and recipient."""
    everyone = users[member.id] + users[neighbour.id]
    rows = []
    for d in drafts:
        institution = {"mine": member.institution, "neighbour": neighbour, None: None}[
            d["institution"]
        ]
        recipients = d["recipients"]
        if institution is None and not recipients:
            recipients = [(0, None, None)]  # keeps it tied to a scratch user, for the cleanup
        a = Alert.create(
            institution=institution,
            type=d["type"],
            subject=d["subject"],
            content=d["content"],
            created_at=d["created_at"],
        )
        base = {
            "id": a.id,
            "institution_id": institution and institution.id,
            "institution_name": institution and institution.name,
            "institution_identifier": institution and institution.identifier,
            "type": d["type"],
            "subject": d["subject"],
            "content": d["content"],
            "deletion_request_id": None,
            "created_at": d["created_at"],
        }
        if not recipients:
            rows.append(
                {
                    **base,
                    "user_id": None,
                    "user_name": None,
                    "user_email": None,
                    "sent_at": None,
                    "read_at": None,
                }
            )
        for who, sent_at, read_at in recipients:
            user = everyone[who]
            AlertUser.create(alert=a, user=user, sent_at=sent_at, read_at=read_at)
            rows.append(
                {
                    **base,
                    "user_id": user.id,
                    "user_name": user.name,
                    "user_email": user.email,
                    "sent_at": sent_at,
                    "read_at": read_at,
                }
            )
    return rows


@SETTINGS
@given(names=user_names(), drafts=alert_drafts(), data=st.data())
def test_alerts_list_matches_oracle(client, names, drafts, data):
    with Scratch() as scratch:
        with connection(), database.atomic():
            neighbour = scratch.institution()
            member = scratch.member()
            users = insert_users(member, neighbour, names)
            rows = insert_alerts(member, neighbour, users, drafts)
        me = users[member.id][0].id
        visible = [r for r in rows if r["institution_id"] == member.id and r["user_id"] == me]
        for _ in range(QUERIES_PER_DATASET):
            query = data.draw(queries(ALERTS, rows, member.id, pinned={"user_id": me}))
            check(client, ALERTS, member, visible, query, key=lambda r: (r["id"], r["user_id"]))
