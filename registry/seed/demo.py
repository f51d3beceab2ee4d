"""A deterministic synthetic data set for trying Registry out: `registry seed --demo`.

The same seed gives the same rows, ids and timestamps on every machine, so README examples and
the examples in the spec (`example.edu/bag-0001`) work against any fresh demo database.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import defaultdict

from peewee import chunked

from models.alert import Alert, AlertUser, AlertWorkItem
from models.checksum import Checksum
from models.deletion_request import DeletionRequest, DeletionRequestFile, DeletionRequestObject
from models.enums import BAGIT_PROFILE_APTRUST, BAGIT_PROFILE_BTR, STORAGE_OPTIONS
from models.generic_file import GenericFile
from models.institution import Institution
from models.institution_writes import buckets
from models.intellectual_object import IntellectualObject
from models.premis_event import PremisEvent
from models.stats import refresh_object_stats
from models.storage.db import database
from models.storage_record import StorageRecord
from models.user import User
from models.work_item import WorkItem

EPOCH = dt.datetime(2024, 1, 2, 9, 0, 0)

INSTITUTIONS = [
    # identifier, name, type, parent identifier
    ("aptrust.org", "APTrust", None, None),
    ("example.edu", "Example University", "MemberInstitution", None),
    ("test.edu", "Test College", "MemberInstitution", None),
    ("library.example.edu", "Example University Library", "SubscriptionInstitution", "example.edu"),
    ("museum.org", "The Museum", "MemberInstitution", None),
]

USERS = [
    ("admin@aptrust.org", "APTrust Admin", "admin", "aptrust.org"),
    ("admin@example.edu", "Example Admin", "institutional_admin", "example.edu"),
    ("user@example.edu", "Example User", "institutional_user", "example.edu"),
    ("admin@test.edu", "Test Admin", "institutional_admin", "test.edu"),
    ("user@test.edu", "Test User", "institutional_user", "test.edu"),
    ("user@library.example.edu", "Library User", "institutional_user", "library.example.edu"),
    ("user@museum.org", "Museum User", "institutional_user", "museum.org"),
    ("nobody@example.edu", "No Role", "none", "example.edu"),
]

FORMATS = [
    ("txt", "text/plain"),
    ("jpg", "image/jpeg"),
    ("tif", "image/tiff"),
    ("pdf", "application/pdf"),
    ("xml", "application/xml"),
    ("wav", "audio/x-wav"),
]
OBJECTS_PER_INSTITUTION = 80
AGENT = "Registry demo ingest"


class _Rows:
    """Rows held back and inserted a few hundred per statement: seeding row by row cost a
    round trip per event and work item, ~4,000 of them before every test session."""

    def __init__(self):
        self.pending = defaultdict(list)

    def add(self, model, **row) -> None:
        self.pending[model].append(row)

    def insert(self) -> None:
        """In the order the rows were added, so each table's ids are those row-by-row
        inserts gave."""
        for model, rows in self.pending.items():
            for batch in chunked(rows, 500):
                model.insert_many(batch).execute()
        self.pending.clear()


def seed_demo(seed: int = 42) -> dict:
    """Insert the demo data set into an empty database; return counts per table."""
    rng = random.Random(seed)
    with database.atomic():
        institutions = _institutions()
        for email, name, role, ident in USERS:
            User.create(
                email=email,
                name=name,
                role=role,
                institution=institutions[ident],
                created_at=EPOCH,
                updated_at=EPOCH,
            )
        object_ids = []
        rows = _Rows()
        for ident, inst in institutions.items():
            if ident == "aptrust.org":
                continue
            for n in range(1, OBJECTS_PER_INSTITUTION + 1):
                object_ids.append(_object(rng, rows, inst, n))
        rows.insert()
        refresh_object_stats(object_ids)
        _size_ingest_items()
        _deletions_and_alerts(institutions)
        _deletion_flow_examples(institutions["example.edu"])
    return {
        "institutions": Institution.select().count(),
        "users": User.select().count(),
        "objects": IntellectualObject.select().count(),
        "files": GenericFile.select().count(),
        "checksums": Checksum.select().count(),
        "events": PremisEvent.select().count(),
        "storage_records": StorageRecord.select().count(),
        "work_items": WorkItem.select().count(),
        "deletion_requests": DeletionRequest.select().count(),
        "alerts": Alert.select().count(),
    }


def _institutions() -> dict[str, Institution]:
    made: dict[str, Institution] = {}
    for ident, name, type_, parent in INSTITUTIONS:
        made[ident] = Institution.create(
            identifier=ident,
            name=name,
            type=type_,
            member_institution=made[parent] if parent else None,
            created_at=EPOCH,
            updated_at=EPOCH,
            **buckets(ident),
        )
    return made


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _object(rng: random.Random, rows: _Rows, inst: Institution, n: int) -> int:
    created = EPOCH + dt.timedelta(days=n, minutes=rng.randrange(1440))
    bag = f"bag-{n:04d}"
    identifier = f"{inst.identifier}/{bag}"
    storage = "Standard" if rng.random() < 0.6 else rng.choice(STORAGE_OPTIONS)
    etag = "".join(rng.choice("0123456789abcdef") for _ in range(32))
    obj = IntellectualObject.create(
        title=f"{inst.name} collection item {n}",
        description=f"Demo bag {n} deposited by {inst.name}." if n % 3 else None,
        identifier=identifier,
        alt_identifier=f"alt-{inst.identifier.split('.')[0]}-{n:04d}" if n % 2 else None,
        access=rng.choice(("consortia", "institution", "institution", "restricted")),
        bag_name=bag,
        institution=inst,
        created_at=created,
        updated_at=created + dt.timedelta(hours=rng.randrange(1, 48)),
        state="D" if n % 25 == 0 else "A",
        etag=etag,
        bag_group_identifier=f"group-{n % 7}" if n % 4 else None,
        storage_option=storage,
        bagit_profile_identifier=BAGIT_PROFILE_BTR if n % 10 == 0 else BAGIT_PROFILE_APTRUST,
        source_organization=inst.name,
        internal_sender_identifier=f"sender-{n:05d}" if n % 5 else None,
        internal_sender_description="Scanned in the reading room" if n % 6 == 0 else None,
    )
    _files(rng, rows, inst, obj, identifier, storage, created)
    _event(rng, rows, inst, obj, None, "ingestion", created, identifier)
    rows.add(
        WorkItem,
        created_at=created,
        updated_at=created + dt.timedelta(hours=2),
        intellectual_object=obj,
        name=f"{bag}.tar",
        etag=etag,
        bucket=buckets(inst.identifier)["receiving_bucket"],
        user=f"admin@{inst.identifier}",
        note="Finished cleanup. Ingest complete",
        action="Ingest",
        stage="Cleanup",
        status="Success",
        outcome="Ingest complete",
        bag_date=created,
        date_processed=created,
        retry=True,
        institution=inst,
        size=obj.size,
        stage_started_at=created,
    )
    return obj.id


def _files(rng, rows, inst, obj, identifier, storage, created):
    files = []
    count = rng.randrange(3, 16)
    for i in range(1, count + 1):
        ext, mime = rng.choice(FORMATS)
        path = "data" if i > 2 else ""
        name = f"file-{i:03d}.{ext}" if path else ("bagit.txt" if i == 1 else "bag-info.txt")
        file_identifier = f"{identifier}/{path + '/' if path else ''}{name}"
        when = created + dt.timedelta(seconds=i)
        files.append(
            dict(
                file_format=mime if path else "text/plain",
                size=rng.randrange(100, 5_000_000),
                identifier=file_identifier,
                intellectual_object=obj,
                created_at=when,
                updated_at=when,
                state="D" if obj.state == "D" or (i == count and count > 10) else "A",
                last_fixity_check=when + dt.timedelta(days=rng.randrange(0, 90)),
                institution=inst,
                storage_option=storage,
                uuid=_uuid(rng),
                mod_time=when - dt.timedelta(days=30),
            )
        )
    GenericFile.insert_many(files).execute()
    inserted = (
        GenericFile.select(GenericFile.id, GenericFile.identifier, GenericFile.uuid)
        .where(GenericFile.intellectual_object == obj)
        .order_by(GenericFile.id)
    )
    for f in inserted:
        when = created + dt.timedelta(minutes=5)
        for algorithm, length in (("md5", 32), ("sha256", 64)):
            rows.add(
                Checksum,
                algorithm=algorithm,
                datetime=when,
                digest="".join(rng.choice("0123456789abcdef") for _ in range(length)),
                generic_file=f.id,
                institution=inst,
                created_at=when,
                updated_at=when,
            )
        for region in ("va", "or"):
            rows.add(
                StorageRecord,
                generic_file=f.id,
                url=f"https://storage.example/preservation-{region}/{f.uuid}",
            )
        _event(rng, rows, inst, obj, f.id, "ingestion", when, f.identifier)


def _event(rng, rows, inst, obj, file_id, event_type, when, subject):
    rows.add(
        PremisEvent,
        identifier=_uuid(rng),
        event_type=event_type,
        date_time=when,
        outcome_detail=subject,
        detail="Completed copy to preservation storage",
        outcome_information="Put using md5 checksum",
        object="Go uploader",
        agent=AGENT,
        intellectual_object=obj,
        generic_file=file_id,
        created_at=when,
        updated_at=when,
        outcome="Success",
        institution=inst,
    )


def _size_ingest_items() -> None:
    """Ingest work items carry the bytes ingested: the object's size once its files are in."""
    O = IntellectualObject
    sizes = O.select(O.size).where(O.id == WorkItem.intellectual_object)
    WorkItem.update(size=sizes).where(WorkItem.action == "Ingest").execute()


def _deletions_and_alerts(institutions: dict[str, Institution]) -> None:
    """For each member: deletion requests in every approval state, work items in flight, and
    the alerts those produced, so that every member endpoint has something to show."""
    for ident in ("example.edu", "test.edu"):
        inst = institutions[ident]
        admin = User.get(User.email == f"admin@{ident}")
        user = User.get(User.email == f"user@{ident}")
        objects = list(
            IntellectualObject.select()
            .where((IntellectualObject.institution == inst) & (IntellectualObject.state == "A"))
            .order_by(IntellectualObject.id)
            .limit(6)
        )
        when = EPOCH + dt.timedelta(days=120)
        awaiting = DeletionRequest.create(
            institution=inst,
            requested_by=user,
            requested_at=when,
            encrypted_confirmation_token="demo-token-hash",
        )
        files = (
            GenericFile.select()
            .where(GenericFile.intellectual_object == objects[0])
            .order_by(GenericFile.id)
            .limit(3)
        )
        for f in files:
            DeletionRequestFile.create(deletion_request=awaiting, generic_file=f)
        approved = DeletionRequest.create(
            institution=inst,
            requested_by=user,
            requested_at=when + dt.timedelta(days=1),
            confirmed_by=admin,
            confirmed_at=when + dt.timedelta(days=2),
            encrypted_confirmation_token="demo-token-hash",
        )
        DeletionRequestObject.create(deletion_request=approved, intellectual_object=objects[1])
        cancelled = DeletionRequest.create(
            institution=inst,
            requested_by=user,
            requested_at=when + dt.timedelta(days=3),
            cancelled_by=admin,
            cancelled_at=when + dt.timedelta(days=4),
            encrypted_confirmation_token="demo-token-hash",
        )
        DeletionRequestObject.create(deletion_request=cancelled, intellectual_object=objects[2])

        delete_item = _item(
            inst,
            objects[1],
            "Delete",
            "Resolve",
            "Started",
            user.email,
            when + dt.timedelta(days=2),
            deletion_request=approved,
            inst_approver=admin.email,
            node="worker-1",
            pid=4242,
        )
        restored = _item(
            inst,
            objects[3],
            "Restore Object",
            "Available in S3",
            "Success",
            user.email,
            when + dt.timedelta(days=5),
            note=f"Bag restored to s3://aptrust.restore.{ident}/bag.tar",
        )
        _item(
            inst,
            None,
            "Ingest",
            "Receive",
            "Pending",
            admin.email,
            when + dt.timedelta(days=6),
            name="new-bag.tar",
        )
        _item(
            inst,
            objects[4],
            "Ingest",
            "Format Identification",
            "Started",
            admin.email,
            when + dt.timedelta(days=7),
            node="worker-2",
            pid=77,
        )

        _alert(inst, "Deletion Requested", [admin, user], when, deletion_request=awaiting)
        _alert(
            inst,
            "Deletion Confirmed",
            [admin, user],
            when + dt.timedelta(days=2),
            deletion_request=approved,
            work_items=[delete_item],
            read=True,
        )
        _alert(
            inst,
            "Deletion Cancelled",
            [user],
            when + dt.timedelta(days=4),
            deletion_request=cancelled,
        )
        _alert(
            inst,
            "Restoration Completed",
            [user],
            when + dt.timedelta(days=5),
            work_items=[restored],
        )
        _alert(inst, "Failed Fixity Check", [], when + dt.timedelta(days=8))


# The records the spec's examples of the deletion operations name (example.edu):
DELETE_READY_BAG = "bag-0007"  # files deleted, Delete item started: DELETE /objects/delete/7
APPROVE_BAG = "bag-0008"  # an admin's request awaiting approval (the approve example)
CANCEL_BAG = "bag-0009"  # another one (the cancel example), for one file of the bag


def _deletion_flow_examples(inst: Institution) -> None:
    """Deletion requests filed by the institution's admin, in the states the deletion
    operations start from, so that each example of the spec answers its 2xx on a fresh demo:
    two awaiting approval, and one approved and being carried out, every file of its object
    deleted already, the object itself next. (The approved request of `_deletions_and_alerts`,
    with its Started Delete item, makes the files of its object deletable too.)"""
    admin = User.get(User.email == f"admin@{inst.identifier}")
    bags = {
        bag: IntellectualObject.get(IntellectualObject.identifier == f"{inst.identifier}/{bag}")
        for bag in (DELETE_READY_BAG, APPROVE_BAG, CANCEL_BAG)
    }
    when = EPOCH + dt.timedelta(days=150)

    ready = bags[DELETE_READY_BAG]
    approved = DeletionRequest.create(
        institution=inst,
        requested_by=admin,
        requested_at=when,
        confirmed_by=admin,
        confirmed_at=when + dt.timedelta(hours=1),
        encrypted_confirmation_token="demo-token-hash",
    )
    DeletionRequestObject.create(deletion_request=approved, intellectual_object=ready)
    item = _item(
        inst,
        ready,
        "Delete",
        "Resolve",
        "Started",
        admin.email,
        when + dt.timedelta(hours=2),
        deletion_request=approved,
        inst_approver=admin.email,
        node="worker-1",
        pid=4343,
    )
    files = list(
        GenericFile.select()
        .where(GenericFile.intellectual_object == ready)
        .order_by(GenericFile.id)
    )
    for f in files:
        gone = when + dt.timedelta(hours=3, seconds=f.id % 60)
        PremisEvent.create(
            identifier=str(uuid.uuid5(uuid.NAMESPACE_URL, f"demo-deletion/{f.identifier}")),
            event_type="deletion",
            date_time=gone,
            outcome="Success",
            outcome_detail=admin.email,
            outcome_information=f"Deleted at the request of {admin.email}, approved by "
            f"{admin.email}",
            detail="File deleted from preservation storage",
            object="Minio S3 library",
            agent="APTrust preservation services",
            intellectual_object=ready,
            generic_file=f.id,
            created_at=gone,
            updated_at=gone,
            institution=inst,
        )
    GenericFile.update(state="D", updated_at=when + dt.timedelta(hours=3)).where(
        GenericFile.intellectual_object == ready
    ).execute()
    StorageRecord.delete().where(StorageRecord.generic_file.in_([f.id for f in files])).execute()
    refresh_object_stats([ready.id])
    _alert(
        inst,
        "Deletion Confirmed",
        [admin],
        when + dt.timedelta(hours=1),
        deletion_request=approved,
        work_items=[item],
    )

    awaiting = DeletionRequest.create(
        institution=inst,
        requested_by=admin,
        requested_at=when + dt.timedelta(days=1),
        encrypted_confirmation_token="demo-token-hash",
    )
    DeletionRequestObject.create(deletion_request=awaiting, intellectual_object=bags[APPROVE_BAG])
    _alert(
        inst, "Deletion Requested", [admin], when + dt.timedelta(days=1), deletion_request=awaiting
    )
    one_file = DeletionRequest.create(
        institution=inst,
        requested_by=admin,
        requested_at=when + dt.timedelta(days=2),
        encrypted_confirmation_token="demo-token-hash",
    )
    DeletionRequestFile.create(
        deletion_request=one_file,
        generic_file=GenericFile.select()
        .where(GenericFile.intellectual_object == bags[CANCEL_BAG])
        .order_by(GenericFile.id)
        .first(),
    )
    _alert(
        inst, "Deletion Requested", [admin], when + dt.timedelta(days=2), deletion_request=one_file
    )


def _item(inst, obj, action, stage, status, email, when, *, name=None, **extra) -> WorkItem:
    return WorkItem.create(
        created_at=when,
        updated_at=when,
        intellectual_object=obj,
        name=name or f"{obj.bag_name}.tar",
        etag=(obj.etag if obj else "0" * 32),
        bucket=buckets(inst.identifier)["receiving_bucket"],
        user=email,
        note=extra.pop("note", f"{action}: {stage}"),
        action=action,
        stage=stage,
        status=status,
        outcome="In progress" if status != "Success" else "Done",
        bag_date=obj.created_at if obj else when,
        date_processed=when,
        retry=True,
        institution=inst,
        size=obj.size if obj else 0,
        queued_at=when,
        **extra,
    )


def _alert(
    inst, type_, recipients, when, *, deletion_request=None, work_items=(), read=False
) -> None:
    alert = Alert.create(
        institution=inst,
        type=type_,
        subject=f"{type_} at {inst.name}",
        content=f"Registry demo alert: {type_.lower()}.",
        deletion_request=deletion_request,
        created_at=when,
    )
    for user in recipients:
        AlertUser.create(
            alert=alert,
            user=user,
            sent_at=when,
            read_at=when + dt.timedelta(hours=1) if read else None,
        )
    for item in work_items:
        AlertWorkItem.create(alert=alert, work_item=item)
