"""The two views of generic files: list rows (with their latest digests) and show records."""

from models.checksum import Checksum
from models.generic_file import GenericFile
from models.institution import Institution
from models.intellectual_object import IntellectualObject
from models.storage.counts import FILE_COUNTS
from models.storage.query import DATETIME, INT, Column, Listing


def _digest(algorithm: str):
    """The newest digest of one algorithm for the outer file row (NULL when there is none)."""
    c = Checksum.alias(f"c_{algorithm}")
    return (
        c.select(c.digest)
        .where((c.generic_file == GenericFile.id) & (c.algorithm == algorithm))
        .order_by(c.created_at.desc(), c.id.desc())
        .limit(1)
    )


def _file_columns():
    F = GenericFile
    return [
        Column("id", F.id, INT),
        Column("file_format", F.file_format),
        Column("size", F.size, INT),
        Column("identifier", F.identifier),
        Column("intellectual_object_id", F.intellectual_object, INT),
        Column("state", F.state),
        Column("last_fixity_check", F.last_fixity_check, DATETIME),
        Column("institution_id", F.institution, INT),
        Column("storage_option", F.storage_option),
        Column("uuid", F.uuid),
        Column("created_at", F.created_at, DATETIME),
        Column("updated_at", F.updated_at, DATETIME),
        Column("mtime", F.mod_time, DATETIME, nullable=True),
    ]


def _view():
    F, O, I = GenericFile, IntellectualObject, Institution
    return Listing(
        name="generic file",
        model=F,
        joins=lambda q: (
            q.join(O, on=(F.intellectual_object == O.id))
            .switch(F)
            .join(I, on=(F.institution == I.id))
        ),
        columns=[
            *_file_columns(),
            Column("object_identifier", O.identifier),
            Column("access", O.access),
            Column("institution_name", I.name),
            Column("institution_identifier", I.identifier),
            *[Column(a, _digest(a), nullable=True) for a in ("md5", "sha1", "sha256", "sha512")],
        ],
        filters={
            "created_at": ("gteq", "lteq"),
            "identifier": ("eq", "contains"),
            "institution_id": ("eq",),
            "intellectual_object_id": ("eq",),
            "last_fixity_check": ("gteq", "lteq"),
            "size": ("gteq", "lteq"),
            "state": ("eq",),
            "storage_option": ("eq", "in"),
            "updated_at": ("gteq", "lteq"),
            "uuid": ("eq",),
        },
        sorts=(
            "created_at",
            "identifier",
            "intellectual_object_id",
            "last_fixity_check",
            "size",
            "state",
            "storage_option",
            "updated_at",
            "uuid",
        ),
        default_sort=[("updated_at", "desc")],
        lookups={"id": "id", "identifier": "identifier"},
        joins_to_one=True,
        counts=FILE_COUNTS,
    )


def _records():
    return Listing(
        name="generic file",
        model=GenericFile,
        columns=_file_columns(),
        filters={},
        sorts=(),
        default_sort=[],
        lookups={"id": "id", "identifier": "identifier"},
    )


FILES = _view()
FILE_RECORDS = _records()
