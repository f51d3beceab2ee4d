"""Deletion requests: an institutional admin's request to delete files or objects."""

import peewee

from models.generic_file import GenericFile
from models.institution import Institution
from models.intellectual_object import IntellectualObject
from models.storage.base import BaseModel, Char, utcnow
from models.storage.query import DATETIME, INT, Column, Listing
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


def approval_status():
    """The request's state as a member sees it (the reference's web UI derives it the same way)."""
    D = DeletionRequest
    return peewee.Case(
        None,
        [
            (D.cancelled_by.is_null(False), "Rejected"),
            (D.confirmed_by.is_null(False), "Approved"),
        ],
        "Awaiting Approval",
    )


def _view():
    D, I = DeletionRequest, Institution
    RB, CB, XB = User.alias("requester"), User.alias("confirmer"), User.alias("canceller")
    DF, DO = DeletionRequestFile.alias("drf"), DeletionRequestObject.alias("dro")
    files = DF.select(peewee.fn.COUNT(peewee.SQL("*"))).where(DF.deletion_request == D.id)
    objects = DO.select(peewee.fn.COUNT(peewee.SQL("*"))).where(DO.deletion_request == D.id)
    return Listing(
        name="deletion request",
        model=D,
        joins=lambda q: (
            q.join(I, on=(D.institution == I.id))
            .switch(D)
            .join(RB, on=(D.requested_by == RB.id))
            .switch(D)
            .join(CB, peewee.JOIN.LEFT_OUTER, on=(D.confirmed_by == CB.id))
            .switch(D)
            .join(XB, peewee.JOIN.LEFT_OUTER, on=(D.cancelled_by == XB.id))
        ),
        columns=[
            Column("id", D.id, INT),
            Column("institution_id", D.institution, INT),
            Column("institution_name", I.name),
            Column("institution_identifier", I.identifier),
            Column("requested_by_id", D.requested_by, INT),
            Column("requested_by_name", RB.name),
            Column("requested_by_email", RB.email),
            Column("requested_at", D.requested_at, DATETIME),
            Column("confirmed_by_id", D.confirmed_by, INT, nullable=True),
            Column("confirmed_by_name", CB.name, nullable=True),
            Column("confirmed_by_email", CB.email, nullable=True),
            Column("confirmed_at", D.confirmed_at, DATETIME, nullable=True),
            Column("cancelled_by_id", D.cancelled_by, INT, nullable=True),
            Column("cancelled_by_name", XB.name, nullable=True),
            Column("cancelled_by_email", XB.email, nullable=True),
            Column("cancelled_at", D.cancelled_at, DATETIME, nullable=True),
            Column("file_count", files, INT),
            Column("object_count", objects, INT),
            Column("status", approval_status()),
        ],
        filters={
            "institution_id": ("eq",),
            "requested_at": ("gteq", "lteq"),
            "status": ("eq",),
        },
        sorts=("requested_at", "status"),
        default_sort=[("requested_at", "desc")],
    )


DELETIONS = _view()
