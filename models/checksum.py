"""Checksums: digests of a file computed at ingest and at each fixity check."""

import peewee

from models.generic_file import GenericFile
from models.institution import Institution
from models.storage.base import BaseModel, Char, utcnow
from models.storage.query import DATETIME, INT, Column, Listing


class Checksum(BaseModel):
    algorithm = Char(max_length=10)
    datetime = peewee.DateTimeField()
    digest = Char(max_length=128)
    generic_file = peewee.ForeignKeyField(
        GenericFile, column_name="generic_file_id", backref="checksums"
    )
    # Copied from the file so that institution-scoped checksum lists need no join.
    institution = peewee.ForeignKeyField(Institution, column_name="institution_id")
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "checksums"


def _records():
    C = Checksum
    return Listing(
        name="checksum",
        model=C,
        columns=[
            Column("id", C.id, INT),
            Column("algorithm", C.algorithm),
            Column("datetime", C.datetime, DATETIME),
            Column("digest", C.digest),
            Column("generic_file_id", C.generic_file, INT),
            Column("created_at", C.created_at, DATETIME),
            Column("updated_at", C.updated_at, DATETIME),
        ],
        filters={"generic_file_id": ("eq",)},
        sorts=("created_at",),
        default_sort=[("created_at", "desc")],
    )


CHECKSUM_RECORDS = _records()


def _view():
    C, F = Checksum, GenericFile
    return Listing(
        name="checksum",
        model=C,
        joins=lambda q: q.join(F, on=(C.generic_file == F.id)),
        columns=[
            Column("id", C.id, INT),
            Column("algorithm", C.algorithm),
            Column("datetime", C.datetime, DATETIME),
            Column("digest", C.digest),
            Column("state", F.state),
            Column("generic_file_identifier", F.identifier),
            Column("generic_file_id", C.generic_file, INT),
            Column("intellectual_object_id", F.intellectual_object, INT),
            Column("institution_id", C.institution, INT),
            Column("created_at", C.created_at, DATETIME),
            Column("updated_at", C.updated_at, DATETIME),
        ],
        filters={
            "algorithm": ("eq",),
            "created_at": ("gteq", "lteq"),
            "datetime": ("gteq", "lteq"),
            "digest": ("eq",),
            "generic_file_id": ("eq",),
            "generic_file_identifier": ("eq",),
            "institution_id": ("eq",),
            "intellectual_object_id": ("eq",),
            "state": ("eq",),
            "updated_at": ("gteq", "lteq"),
        },
        sorts=(
            "algorithm",
            "created_at",
            "datetime",
            "digest",
            "generic_file_id",
            "generic_file_identifier",
            "intellectual_object_id",
            "state",
            "updated_at",
        ),
        default_sort=[("datetime", "desc")],
        joins_to_one=True,
    )


CHECKSUMS = _view()
