"""Intellectual objects (bags) and their denormalised file statistics."""

import peewee

from models.enums import BAGIT_PROFILE_APTRUST
from models.institution import Institution
from models.storage.base import BaseModel, Char, Text, utcnow
from models.storage.counts import OBJECT_COUNTS
from models.storage.query import DATETIME, INT, Column, Listing


class IntellectualObject(BaseModel):
    title = Text()
    description = Text(null=True)
    identifier = Char(max_length=1000, unique=True)
    alt_identifier = Char(max_length=1000, null=True)
    access = Char(max_length=20, default="institution")
    bag_name = Char(max_length=1000)
    institution = peewee.ForeignKeyField(Institution, column_name="institution_id")
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)
    state = Char(max_length=1, default="A")
    etag = Char(max_length=64, null=True)
    bag_group_identifier = Char(max_length=1000, null=True)
    storage_option = Char(max_length=20, default="Standard")
    bagit_profile_identifier = Char(max_length=1000, default=BAGIT_PROFILE_APTRUST)
    source_organization = Char(max_length=1000, null=True)
    internal_sender_identifier = Char(max_length=1000, null=True)
    internal_sender_description = Text(null=True)
    # Kept in step with the object's files by models.stats on every file write, so that lists
    # can filter and sort on them through an index instead of aggregating per row.
    file_count = peewee.BigIntegerField(default=0)
    size = peewee.BigIntegerField(default=0)
    payload_file_count = peewee.BigIntegerField(default=0)
    payload_size = peewee.BigIntegerField(default=0)

    class Meta:
        table_name = "intellectual_objects"


def _view():
    O, I = IntellectualObject, Institution
    return Listing(
        name="intellectual object",
        model=O,
        joins=lambda q: q.join(I, on=(O.institution == I.id)),
        columns=[
            Column("id", O.id, INT),
            Column("title", O.title),
            Column("description", O.description, nullable=True),
            Column("identifier", O.identifier),
            Column("alt_identifier", O.alt_identifier, nullable=True),
            Column("access", O.access),
            Column("bag_name", O.bag_name),
            Column("institution_id", O.institution, INT),
            Column("created_at", O.created_at, DATETIME),
            Column("updated_at", O.updated_at, DATETIME),
            Column("state", O.state),
            Column("etag", O.etag, nullable=True),
            Column("bag_group_identifier", O.bag_group_identifier, nullable=True),
            Column("storage_option", O.storage_option),
            Column("bagit_profile_identifier", O.bagit_profile_identifier),
            Column("source_organization", O.source_organization, nullable=True),
            Column("internal_sender_identifier", O.internal_sender_identifier, nullable=True),
            Column("internal_sender_description", O.internal_sender_description, nullable=True),
            Column("institution_name", I.name),
            Column("institution_identifier", I.identifier),
            Column("institution_type", I.type, nullable=True),
            Column("institution_parent_id", I.member_institution, INT, nullable=True),
            Column("file_count", O.file_count, INT),
            Column("size", O.size, INT),
            Column("payload_file_count", O.payload_file_count, INT),
            Column("payload_size", O.payload_size, INT),
        ],
        filters={
            "access": ("eq",),
            "alt_identifier": ("eq", "starts_with", "contains"),
            "bag_group_identifier": ("eq", "starts_with", "contains"),
            "bag_name": ("eq",),
            "bagit_profile_identifier": ("eq",),
            "created_at": ("gteq", "lteq"),
            "etag": ("eq",),
            "file_count": ("gteq", "lteq"),
            "identifier": ("eq", "starts_with", "contains"),
            "institution_id": ("eq",),
            "institution_parent_id": ("eq",),
            "internal_sender_description": ("eq",),
            "internal_sender_identifier": ("eq",),
            "size": ("gteq", "lteq"),
            "source_organization": ("eq",),
            "state": ("eq",),
            "storage_option": ("eq",),
            "title": ("contains",),
            "updated_at": ("gteq", "lteq"),
        },
        sorts=(
            "access",
            "alt_identifier",
            "bag_group_identifier",
            "bagit_profile_identifier",
            "created_at",
            "etag",
            "file_count",
            "identifier",
            "internal_sender_identifier",
            "size",
            "state",
            "storage_option",
            "updated_at",
        ),
        default_sort=[("updated_at", "desc")],
        lookups={"id": "id", "identifier": "identifier"},
        joins_to_one=True,
        counts=OBJECT_COUNTS,
    )


OBJECTS = _view()
