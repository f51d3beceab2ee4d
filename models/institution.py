"""Depositing institutions: members and their subscription sub-accounts."""
import peewee

from models.base import BaseModel, Char, utcnow


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
