"""Work items: ingest, restore, delete and fixity tasks and their progress."""
import peewee

from models.base import BaseModel, Char, Text, utcnow
from models.deletion_request import DeletionRequest
from models.generic_file import GenericFile
from models.institution import Institution
from models.intellectual_object import IntellectualObject


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
