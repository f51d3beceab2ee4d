"""Deletion requests: an institutional admin's request to delete files or objects."""
import peewee

from models.base import BaseModel, Char, utcnow
from models.generic_file import GenericFile
from models.institution import Institution
from models.intellectual_object import IntellectualObject
from models.user import User


class DeletionRequest(BaseModel):
    id = peewee.BigAutoField()
    institution = peewee.ForeignKeyField(Institution, column_name="institution_id")
    requested_by = peewee.ForeignKeyField(User, column_name="requested_by_id")
    requested_at = peewee.DateTimeField(default=utcnow)
    encrypted_confirmation_token = Char(max_length=128)
    confirmed_by = peewee.ForeignKeyField(User, column_name="confirmed_by_id", null=True)
    confirmed_at = peewee.DateTimeField(null=True)
    cancelled_by = peewee.ForeignKeyField(User, column_name="cancelled_by_id", null=True)
    cancelled_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "deletion_requests"


class DeletionRequestFile(BaseModel):
    deletion_request = peewee.ForeignKeyField(DeletionRequest, column_name="deletion_request_id")
    generic_file = peewee.ForeignKeyField(GenericFile, column_name="generic_file_id")

    class Meta:
        table_name = "deletion_requests_generic_files"
        primary_key = peewee.CompositeKey("deletion_request", "generic_file")


class DeletionRequestObject(BaseModel):
    deletion_request = peewee.ForeignKeyField(DeletionRequest, column_name="deletion_request_id")
    intellectual_object = peewee.ForeignKeyField(
        IntellectualObject, column_name="intellectual_object_id"
    )

    class Meta:
        table_name = "deletion_requests_intellectual_objects"
        primary_key = peewee.CompositeKey("deletion_request", "intellectual_object")
