"""Work items: ingest, restore, delete and fixity tasks and their progress."""

import peewee

from models.deletion_request import DeletionRequest
from models.generic_file import GenericFile
from models.institution import Institution
from models.intellectual_object import IntellectualObject
from models.storage.base import BaseModel, Char, Text, utcnow
from models.storage.counts import ITEM_COUNTS
from models.storage.query import BOOL, DATETIME, INT, Column, Listing


class WorkItem(BaseModel):
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)
    intellectual_object = peewee.ForeignKeyField(
        IntellectualObject, column_name="intellectual_object_id", null=True
    )
    generic_file = peewee.ForeignKeyField(GenericFile, column_name="generic_file_id", null=True)
    name = Char(max_length=1000)
    etag = Char(max_length=40)
    bucket = Char(max_length=1000)
    user = Char(max_length=254)
    note = Text(null=True)
    action = Char(max_length=40)
    stage = Char(max_length=40)
    status = Char(max_length=20)
    outcome = Text(null=True)
    bag_date = peewee.DateTimeField()
    date_processed = peewee.DateTimeField()
    retry = peewee.BooleanField(default=False)
    node = Char(max_length=255, null=True)
    pid = peewee.IntegerField(default=0)
    needs_admin_review = peewee.BooleanField(default=False)
    institution = peewee.ForeignKeyField(Institution, column_name="institution_id")
    queued_at = peewee.DateTimeField(null=True)
    size = peewee.BigIntegerField(default=0)
    stage_started_at = peewee.DateTimeField(null=True)
    aptrust_approver = Char(max_length=254, null=True)
    inst_approver = Char(max_length=254, null=True)
    deletion_request = peewee.ForeignKeyField(
        DeletionRequest, column_name="deletion_request_id", null=True
    )

    class Meta:
        table_name = "work_items"


def _view():
    W, O, F, I = WorkItem, IntellectualObject, GenericFile, Institution
    return Listing(
        name="work item",
        model=W,
        joins=lambda q: (
            q.join(O, peewee.JOIN.LEFT_OUTER, on=(W.intellectual_object == O.id))
            .switch(W)
            .join(F, peewee.JOIN.LEFT_OUTER, on=(W.generic_file == F.id))
            .switch(W)
            .join(I, on=(W.institution == I.id))
        ),
        columns=[
            Column("id", W.id, INT),
            Column("action", W.action),
            Column("alt_identifier", O.alt_identifier, nullable=True),
            Column("aptrust_approver", W.aptrust_approver, nullable=True),
            Column("bagit_profile_identifier", O.bagit_profile_identifier, nullable=True),
            Column("bag_date", W.bag_date, DATETIME),
            Column("bag_group_identifier", O.bag_group_identifier, nullable=True),
            Column("bucket", W.bucket),
            Column("created_at", W.created_at, DATETIME),
            Column("date_processed", W.date_processed, DATETIME),
            Column("deletion_request_id", W.deletion_request, INT, nullable=True),
            Column("etag", W.etag),
            Column("generic_file_id", W.generic_file, INT, nullable=True),
            Column("generic_file_identifier", F.identifier, nullable=True),
            Column("institution_id", W.institution, INT),
            Column("institution_name", I.name),
            Column("institution_identifier", I.identifier),
            Column("inst_approver", W.inst_approver, nullable=True),
            Column("intellectual_object_id", W.intellectual_object, INT, nullable=True),
            Column("internal_sender_identifier", O.internal_sender_identifier, nullable=True),
            Column("name", W.name),
            Column("needs_admin_review", W.needs_admin_review, BOOL),
            Column("node", W.node, nullable=True),
            Column("note", W.note, nullable=True),
            Column("object_identifier", O.identifier, nullable=True),
            Column("outcome", W.outcome, nullable=True),
            Column("pid", W.pid, INT),
            Column("queued_at", W.queued_at, DATETIME, nullable=True),
            Column("retry", W.retry, BOOL),
            Column("size", W.size, INT),
            Column("source_organization", O.source_organization, nullable=True),
            Column("stage", W.stage),
            Column("stage_started_at", W.stage_started_at, DATETIME, nullable=True),
            Column("status", W.status),
            Column("storage_option", O.storage_option, nullable=True),
            Column("updated_at", W.updated_at, DATETIME),
            Column("user", W.user),
        ],
        filters={
            "action": ("eq", "in"),
            "alt_identifier": ("eq",),
            "bag_date": ("gteq", "lteq"),
            "bag_group_identifier": ("eq",),
            "bagit_profile_identifier": ("eq",),
            "bucket": ("eq",),
            "created_at": ("gteq", "lteq"),
            "date_processed": ("gteq", "lteq"),
            "etag": ("eq",),
            "generic_file_id": ("eq", "is_null"),
            "generic_file_identifier": ("eq",),
            "institution_id": ("eq",),
            "intellectual_object_id": ("eq", "is_null"),
            "name": ("eq",),
            "needs_admin_review": ("eq",),
            "node": ("is_null", "not_null"),
            "object_identifier": ("eq",),
            "queued_at": ("is_null", "not_null"),
            "retry": ("eq",),
            "size": ("gteq", "lteq"),
            "stage": ("eq", "in"),
            "status": ("eq", "in"),
            "storage_option": ("eq",),
            "updated_at": ("gteq", "lteq"),
            "user": ("eq",),
        },
        sorts=(
            "action",
            "alt_identifier",
            "bag_date",
            "bag_group_identifier",
            "bagit_profile_identifier",
            "created_at",
            "date_processed",
            "etag",
            "generic_file_id",
            "generic_file_identifier",
            "intellectual_object_id",
            "name",
            "object_identifier",
            "queued_at",
            "size",
            "stage",
            "status",
            "storage_option",
            "updated_at",
        ),
        default_sort=[("updated_at", "desc")],
        joins_to_one=True,
        counts=ITEM_COUNTS,
    )


ITEMS = _view()
