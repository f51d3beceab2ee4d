"""Depositing institutions: members and their subscription sub-accounts."""

import peewee

from models.storage.base import BaseModel, Char, utcnow
from models.storage.query import BOOL, DATETIME, INT, Column, Listing


class Institution(BaseModel):
    name = Char(max_length=200, index=True)
    identifier = Char(max_length=253, unique=True)
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)
    state = Char(max_length=1, default="A")
    type = Char(max_length=40, null=True)
    member_institution = peewee.ForeignKeyField(
        "self", null=True, column_name="member_institution_id", backref="subscribers"
    )
    deactivated_at = peewee.DateTimeField(null=True)
    otp_enabled = peewee.BooleanField(default=False)
    receiving_bucket = Char(max_length=300, unique=True)
    restore_bucket = Char(max_length=300, unique=True)
    spot_restore_frequency = peewee.IntegerField(default=0)
    last_spot_restore_work_item_id = peewee.BigIntegerField(null=True)

    class Meta:
        table_name = "institutions"


def _view():
    I, P = Institution, Institution.alias("parent")
    return Listing(
        name="institution",
        model=I,
        joins=lambda q: q.join(P, peewee.JOIN.LEFT_OUTER, on=(I.member_institution == P.id)),
        columns=[
            Column("id", I.id, INT),
            Column("name", I.name),
            Column("identifier", I.identifier),
            Column("created_at", I.created_at, DATETIME),
            Column("updated_at", I.updated_at, DATETIME),
            Column("state", I.state),
            Column("type", I.type, nullable=True),
            Column("deactivated_at", I.deactivated_at, DATETIME, nullable=True),
            Column("otp_enabled", I.otp_enabled, BOOL),
            Column("receiving_bucket", I.receiving_bucket),
            Column("restore_bucket", I.restore_bucket),
            Column("spot_restore_frequency", I.spot_restore_frequency, INT),
            Column(
                "last_spot_restore_work_item_id",
                I.last_spot_restore_work_item_id,
                INT,
                nullable=True,
            ),
            Column("parent_id", I.member_institution, INT, nullable=True),
            Column("parent_name", P.name, nullable=True),
            Column("parent_identifier", P.identifier, nullable=True),
            Column("parent_state", P.state, nullable=True),
            Column("parent_deactivated_at", P.deactivated_at, DATETIME, nullable=True),
        ],
        filters={
            "created_at": ("gteq", "lteq"),
            "name": ("contains",),
            "identifier": ("eq",),
            "state": ("eq",),
            "type": ("eq",),
            "parent_id": ("eq",),
            "updated_at": ("gteq", "lteq"),
        },
        sorts=("created_at", "identifier", "name", "updated_at"),
        default_sort=[("name", "asc")],
        scopes={},  # sysadmins only
        lookups={"id": "id", "identifier": "identifier"},
    )


INSTITUTIONS = _view()
