"""Generic files: one preserved file of an intellectual object."""

import datetime as dt

import peewee

from models.institution import Institution
from models.intellectual_object import IntellectualObject
from models.storage.base import BaseModel, Char, utcnow

NEVER_CHECKED = dt.datetime(2000, 1, 1)


class GenericFile(BaseModel):
    file_format = Char(max_length=255)
    size = peewee.BigIntegerField(default=0)
    identifier = Char(max_length=2000, unique=True)
    intellectual_object = peewee.ForeignKeyField(
        IntellectualObject, column_name="intellectual_object_id", backref="files"
    )
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)
    state = Char(max_length=1, default="A")
    last_fixity_check = peewee.DateTimeField(default=NEVER_CHECKED)
    institution = peewee.ForeignKeyField(Institution, column_name="institution_id")
    storage_option = Char(max_length=20, default="Standard")
    uuid = Char(max_length=36, unique=True)
    mod_time = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "generic_files"
