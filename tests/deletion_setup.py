"""Put a file or an object into the state the admin delete operations require (what the
reference's test-only prepare_*_delete endpoints fabricate): an approved deletion request, a
Started Delete work item naming its approver and, for objects, an object-level ingestion event.
Written with the models, so the admin-write tests do not depend on the member flow's code."""

from __future__ import annotations

import uuid

from models.deletion_request import DeletionRequest, DeletionRequestFile, DeletionRequestObject
from models.intellectual_object import IntellectualObject
from models.premis_event import PremisEvent
from models.storage.base import utcnow
from models.storage.db import connection, database
from models.user import User
from models.work_item import WorkItem

REQUESTER = "user@example.edu"
APPROVER = "admin@example.edu"


def approve_deletion(
    object_id: int,
    file_id: int | None = None,
    *,
    requester=REQUESTER,
    approver=APPROVER,
    status="Started",
    ingested=True,
    confirmed=True,
) -> int:
    """An approved request for the file (or, without `file_id`, the whole object) and its
    Delete work item with `status`; returns the work item's id."""
    with connection(), database.atomic():
        obj = IntellectualObject.get_by_id(object_id)
        asker = User.get(User.email == requester)
        boss = User.get(User.email == approver)
        now = utcnow()
        request = DeletionRequest.create(
            institution=obj.institution_id,
            requested_by=asker,
            requested_at=now,
            confirmed_by=boss if confirmed else None,
            confirmed_at=now if confirmed else None,
            encrypted_confirmation_token="test",
        )
        if file_id is None:
            DeletionRequestObject.create(deletion_request=request, intellectual_object=obj)
        else:
            DeletionRequestFile.create(deletion_request=request, generic_file=file_id)
        if ingested and file_id is None:
            add_object_event(object_id, "ingestion")
        return WorkItem.create(
            intellectual_object=object_id,
            generic_file=file_id,
            institution=obj.institution_id,
            name=f"{obj.bag_name}.tar",
            etag="d" * 32,
            bucket="aptrust.receiving.example.edu",
            user=requester,
            inst_approver=approver,
            deletion_request=request,
            action="Delete",
            stage="Resolve",
            status=status,
            bag_date=now,
            date_processed=now,
        ).id


def add_object_event(object_id: int, event_type: str, when=None) -> None:
    with connection():
        obj = IntellectualObject.get_by_id(object_id)
        when = when or utcnow()
        PremisEvent.create(
            identifier=str(uuid.uuid4()),
            event_type=event_type,
            date_time=when,
            outcome="Success",
            outcome_detail="test",
            detail="test",
            outcome_information="test",
            object="pytest",
            agent="pytest",
            intellectual_object=object_id,
            generic_file=None,
            institution=obj.institution_id,
            created_at=when,
            updated_at=when,
        )
