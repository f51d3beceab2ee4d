"""PREMIS events: what happened to an object or file, when, by whom, with what outcome."""

import peewee

from models.generic_file import GenericFile
from models.institution import Institution
from models.intellectual_object import IntellectualObject
from models.storage.base import BaseModel, Char, Text, utcnow
from models.storage.counts import EVENT_COUNTS
from models.storage.query import DATETIME, INT, Column, Listing


class PremisEvent(BaseModel):
    identifier = Char(max_length=36, unique=True)
    event_type = Char(max_length=40)
    date_time = peewee.DateTimeField()
    outcome_detail = Text(null=True)
    detail = Text(null=True)
    outcome_information = Text(null=True)
    object = Text(null=True)
    agent = Text(null=True)
    intellectual_object = peewee.ForeignKeyField(
        IntellectualObject, column_name="intellectual_object_id", backref="events"
    )
    generic_file = peewee.ForeignKeyField(
        GenericFile, column_name="generic_file_id", null=True, backref="events"
    )
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)
    outcome = Char(max_length=10)
    institution = peewee.ForeignKeyField(Institution, column_name="institution_id")
    old_uuid = Char(max_length=36, null=True)

    class Meta:
        table_name = "premis_events"


def _event_columns():
    E = PremisEvent
    return [
        Column("id", E.id, INT),
        Column("agent", E.agent, nullable=True),
        Column("date_time", E.date_time, DATETIME),
        Column("detail", E.detail, nullable=True),
        Column("event_type", E.event_type),
        Column("generic_file_id", E.generic_file, INT, nullable=True),
        Column("identifier", E.identifier),
        Column("institution_id", E.institution, INT),
        Column("intellectual_object_id", E.intellectual_object, INT),
        Column("object", E.object, nullable=True),
        Column("old_uuid", E.old_uuid, nullable=True),
        Column("outcome", E.outcome),
        Column("outcome_detail", E.outcome_detail, nullable=True),
        Column("outcome_information", E.outcome_information, nullable=True),
        Column("created_at", E.created_at, DATETIME),
        Column("updated_at", E.updated_at, DATETIME),
    ]


def _records():
    return Listing(
        name="premis event",
        model=PremisEvent,
        columns=_event_columns(),
        filters={"generic_file_id": ("eq",)},
        sorts=("date_time",),
        default_sort=[("date_time", "desc")],
        lookups={"id": "id", "identifier": "identifier"},
    )


EVENT_RECORDS = _records()


def _view():
    E, F, O, I = PremisEvent, GenericFile, IntellectualObject, Institution
    return Listing(
        name="premis event",
        model=E,
        joins=lambda q: (
            q.join(F, peewee.JOIN.LEFT_OUTER, on=(E.generic_file == F.id))
            .switch(E)
            .join(O, on=(E.intellectual_object == O.id))
            .switch(E)
            .join(I, on=(E.institution == I.id))
        ),
        columns=[
            *_event_columns(),
            Column("generic_file_identifier", F.identifier, nullable=True),
            Column("institution_name", I.name),
            Column("intellectual_object_identifier", O.identifier),
        ],
        filters={
            "created_at": ("gteq", "lteq"),
            "date_time": ("gteq", "lteq"),
            "event_type": ("eq",),
            "generic_file_id": ("eq", "is_null"),
            "generic_file_identifier": ("eq",),
            "identifier": ("eq",),
            "institution_id": ("eq",),
            "intellectual_object_id": ("eq",),
            "intellectual_object_identifier": ("eq",),
            "outcome": ("eq",),
            "updated_at": ("gteq", "lteq"),
        },
        sorts=(
            "created_at",
            "date_time",
            "event_type",
            "generic_file_id",
            "generic_file_identifier",
            "identifier",
            "intellectual_object_id",
            "intellectual_object_identifier",
            "outcome",
            "updated_at",
        ),
        default_sort=[("date_time", "desc")],
        lookups={"id": "id", "identifier": "identifier"},
        joins_to_one=True,
        counts=EVENT_COUNTS,
    )


EVENTS = _view()
