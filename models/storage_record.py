"""Storage records: where each copy of a file lives in preservation storage."""

import peewee

from models.generic_file import GenericFile
from models.storage.base import BaseModel, Text
from models.storage.query import INT, Column, Listing


class StorageRecord(BaseModel):
    id = peewee.BigAutoField()
    generic_file = peewee.ForeignKeyField(
        GenericFile, column_name="generic_file_id", backref="storage_records", index=True
    )
    url = Text()

    class Meta:
        table_name = "storage_records"


def _view():
    S = StorageRecord
    return Listing(
        name="storage record",
        model=S,
        columns=[
            Column("id", S.id, INT),
            Column("generic_file_id", S.generic_file, INT),
            Column("url", S.url),
        ],
        filters={"generic_file_id": ("eq",)},
        sorts=("id", "generic_file_id"),
        default_sort=[("id", "desc")],
        scopes={},
    )


STORAGE_RECORDS = _view()
