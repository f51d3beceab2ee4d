"""Alerts sent to users, and the records they point at."""
import peewee

from models.base import BaseModel, Char, Text, utcnow
from models.deletion_request import DeletionRequest
from models.institution import Institution
from models.premis_event import PremisEvent
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
