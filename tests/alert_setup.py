"""Institutions of a test's own for the alert, restore-alert and spot-test tests: people of each
role (active and deactivated), objects of chosen sizes, and the cleanup of everything they
caused, the operator's alerts about them included.

The session's database is shared, and alerts that the registry sends by itself reach people
outside the test's institution (the operator's staff), so the cleanup removes every alert that
links the test's events or work items before the institutions go (tests/listing_rows.py).
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field

from models.alert import Alert, AlertPremisEvent, AlertUser, AlertWorkItem
from models.generic_file import GenericFile
from models.institution import Institution
from models.intellectual_object import IntellectualObject
from models.internal_metadata import InternalMetadata
from models.premis_event import PremisEvent
from models.stats import refresh_object_stats
from models.storage.base import utcnow
from models.storage.db import connection, database
from models.user import User, issue_key
from models.work_item import WorkItem
from tests.listing_rows import Scratch

_serial = itertools.count(1)


@dataclass
class Person:
    user: User
    headers: dict | None  # None: holds no key

    @property
    def id(self) -> int:
        return self.user.id


@dataclass
class Place:
    """A scratch institution and its people: `admin`, `admin2` (institutional admins), `user`
    (institutional user), `nobody` (role none), `gone` (a deactivated institutional admin)."""

    institution: Institution
    people: dict[str, Person] = field(default_factory=dict)

    @property
    def id(self) -> int:
        return self.institution.id

    def __getitem__(self, name: str) -> Person:
        return self.people[name]


ROLES = {
    "admin": "institutional_admin",
    "admin2": "institutional_admin",
    "user": "institutional_user",
    "nobody": "none",
    "gone": "institutional_admin",
}


def make_place(scratch: Scratch, *, frequency: int = 0) -> Place:
    with connection(), database.atomic():
        institution = scratch.institution()
        if frequency:
            institution.spot_restore_frequency = frequency
            institution.save()
        place = Place(institution)
        for name, role in ROLES.items():
            user = User.create(
                email=f"{name}@{institution.identifier}",
                name=f"{name.title()} of {institution.identifier}",
                role=role,
                institution=institution,
            )
            place.people[name] = Person(
                user, {"X-Pharos-API-User": user.email, "X-Pharos-API-Key": issue_key(user)}
            )
        gone = place.people["gone"].user
        gone.deactivated_at = utcnow()
        gone.save()
    return place


def make_object(
    place: Place, size: int, *, state: str = "A", storage: str = "Standard"
) -> IntellectualObject:
    """An object of one file of `size` bytes, with the successful ingest a restore copies."""
    n = next(_serial)
    identifier = f"{place.institution.identifier}/bag-{n:04d}"
    with connection(), database.atomic():
        obj = IntellectualObject.create(
            title=f"bag {n}",
            identifier=identifier,
            bag_name=f"bag-{n:04d}",
            institution=place.id,
            state=state,
            etag="e" * 32,
            storage_option=storage,
        )
        GenericFile.create(
            file_format="text/plain",
            size=size,
            identifier=f"{identifier}/data/a",
            intellectual_object=obj,
            institution=place.id,
            state=state,
            storage_option=storage,
            uuid=str(uuid.uuid4()),
        )
        WorkItem.create(
            intellectual_object=obj,
            name=f"bag-{n:04d}.tar",
            etag="f" * 32,
            bucket=place.institution.receiving_bucket,
            user=place["admin"].user.email,
            action="Ingest",
            stage="Cleanup",
            status="Success",
            bag_date=utcnow(),
            date_processed=utcnow(),
            institution=place.id,
        )
        refresh_object_stats([obj.id])
    return IntellectualObject.get_by_id(obj.id)


def forget_alerts_about(institution_ids: list[int]) -> None:
    """Delete the alerts that link events or work items of these institutions, wherever they
    were sent (the operator's alerts too), with their recipients and links."""
    events = PremisEvent.select(PremisEvent.id).where(PremisEvent.institution.in_(institution_ids))
    items = WorkItem.select(WorkItem.id).where(WorkItem.institution.in_(institution_ids))
    with connection(), database.atomic():
        alerts = [
            a
            for (a,) in Alert.select(Alert.id)
            .where(
                Alert.id.in_(
                    AlertPremisEvent.select(AlertPremisEvent.alert).where(
                        AlertPremisEvent.premis_event.in_(events)
                    )
                )
                | Alert.id.in_(
                    AlertWorkItem.select(AlertWorkItem.alert).where(
                        AlertWorkItem.work_item.in_(items)
                    )
                )
            )
            .tuples()
        ]
        if alerts:
            for link in (AlertUser, AlertPremisEvent, AlertWorkItem):
                link.delete().where(link.alert.in_(alerts)).execute()
            Alert.delete().where(Alert.id.in_(alerts)).execute()


class Places(Scratch):
    """Scratch institutions (made with `place`), purged with every alert about them."""

    def place(self, **options) -> Place:
        return make_place(self, **options)

    def __exit__(self, *exc) -> None:
        forget_alerts_about(self.institution_ids)
        with connection(), database.atomic():
            Institution.update(last_spot_restore_work_item_id=None).where(
                Institution.id.in_(self.institution_ids)
            ).execute()
        super().__exit__(*exc)


def set_metadata(key: str, value: str | None) -> None:
    """Store (or, with None, forget) a daily job's memory."""
    M = InternalMetadata
    with connection(), database.atomic():
        M.delete().where(M.key == key).execute()
        if value is not None:
            M.create(key=key, value=value)


def get_metadata(key: str) -> str | None:
    with connection():
        row = InternalMetadata.get_or_none(InternalMetadata.key == key)
    return row.value if row else None
