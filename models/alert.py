"""Alerts sent to users, and the records they point at."""

import peewee

from models.caller import Caller
from models.deletion_request import DeletionRequest
from models.errors import Forbidden, NotFound
from models.institution import Institution
from models.premis_event import PremisEvent
from models.storage.base import BaseModel, Char, Text, utcnow
from models.storage.query import DATETIME, INT, Column, Listing
from models.user import User
from models.work_item import WorkItem


class Alert(BaseModel):
    id = peewee.BigAutoField()
    institution = peewee.ForeignKeyField(Institution, column_name="institution_id", null=True)
    type = Char(max_length=40)
    subject = Text()
    content = Text()
    deletion_request = peewee.ForeignKeyField(
        DeletionRequest, column_name="deletion_request_id", null=True
    )
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "alerts"


class AlertUser(BaseModel):
    alert = peewee.ForeignKeyField(Alert, column_name="alert_id")
    user = peewee.ForeignKeyField(User, column_name="user_id", index=True)
    sent_at = peewee.DateTimeField(null=True)
    read_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "alerts_users"
        primary_key = peewee.CompositeKey("alert", "user")


class AlertPremisEvent(BaseModel):
    alert = peewee.ForeignKeyField(Alert, column_name="alert_id")
    premis_event = peewee.ForeignKeyField(PremisEvent, column_name="premis_event_id")

    class Meta:
        table_name = "alerts_premis_events"
        primary_key = peewee.CompositeKey("alert", "premis_event")


class AlertWorkItem(BaseModel):
    alert = peewee.ForeignKeyField(Alert, column_name="alert_id")
    work_item = peewee.ForeignKeyField(WorkItem, column_name="work_item_id")

    class Meta:
        table_name = "alerts_work_items"
        primary_key = peewee.CompositeKey("alert", "work_item")


def _view():
    A, AU, U, I = Alert, AlertUser, User, Institution
    return Listing(
        name="alert",
        model=A,
        joins=lambda q: (
            q.join(AU, peewee.JOIN.LEFT_OUTER, on=(AU.alert == A.id))
            .join(U, peewee.JOIN.LEFT_OUTER, on=(AU.user == U.id))
            .switch(A)
            .join(I, peewee.JOIN.LEFT_OUTER, on=(A.institution == I.id))
        ),
        columns=[
            Column("id", A.id, INT),
            Column("institution_id", A.institution, INT, nullable=True),
            Column("institution_name", I.name, nullable=True),
            Column("institution_identifier", I.identifier, nullable=True),
            Column("type", A.type),
            Column("subject", A.subject),
            Column("content", A.content),
            Column("deletion_request_id", A.deletion_request, INT, nullable=True),
            Column("created_at", A.created_at, DATETIME),
            Column("user_id", AU.user, INT, nullable=True),
            Column("user_name", U.name, nullable=True),
            Column("user_email", U.email, nullable=True),
            Column("sent_at", AU.sent_at, DATETIME, nullable=True),
            Column("read_at", AU.read_at, DATETIME, nullable=True),
        ],
        filters={
            "created_at": ("gteq", "lteq"),
            "institution_id": ("eq",),
            "read_at": ("gteq", "lteq", "is_null", "not_null"),
            "type": ("eq",),
            "user_id": ("eq",),
        },
        sorts=("created_at", "type", "read_at"),
        default_sort=[("created_at", "desc")],
        # One row per alert and recipient: members see only the copies addressed to them.
        scopes={"institution_id": "institution_id", "user_id": "user_id"},
        tiebreaker=("id", "user_id"),
    )


ALERTS = _view()


def alert_detail(caller: Caller, key: tuple[int, int]) -> dict:
    """One alert as received by one user. Members may only ask for their own copy (403)."""
    alert_id, user_id = key
    if not caller.is_sysadmin and user_id != caller.user_id:
        raise Forbidden(
            "You may only read alerts addressed to you",
            errors=[{"name": "user_id", "in": "path", "message": "not your user id"}],
        )
    row = ALERTS.find_by(caller, id=alert_id, user_id=user_id)
    if row is None:
        raise NotFound(f"No alert {alert_id} for user {user_id}")
    return row
