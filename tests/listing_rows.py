"""Throwaway institutions for the list tests, each with a keyed member, and their cleanup.

The database is shared by every test of a session, and other modules assert exact counts over
the demo data (80 objects at example.edu, ...). So each list test puts its rows in institutions
of its own (`lst<n>.edu`) and `Scratch` deletes them, with everything hanging off them, on exit.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from models.alert import Alert, AlertPremisEvent, AlertUser, AlertWorkItem
from models.caller import Caller
from models.checksum import Checksum
from models.deletion_request import DeletionRequest, DeletionRequestFile, DeletionRequestObject
from models.generic_file import GenericFile
from models.institution import Institution
from models.intellectual_object import IntellectualObject
from models.premis_event import PremisEvent
from models.storage.db import connection, database
from models.storage_record import StorageRecord
from models.user import ApiKey, User, issue_key
from models.work_item import WorkItem
from registry.seed.demo import buckets

_numbers = itertools.count(1)


@dataclass(frozen=True)
class Member:
    """An institution, and the request headers of an institutional_user of it."""

    institution: Institution
    headers: dict

    @property
    def id(self) -> int:
        return self.institution.id


class Scratch:
    """Creates institutions (and members) and purges them and all their rows on exit."""

    def __init__(self):
        self.institution_ids: list[int] = []

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc) -> None:
        purge(self.institution_ids)

    def institution(self, parent: Institution | None = None) -> Institution:
        # Fixed width: Hypothesis strategies draw from prefixes of these identifiers, and must
        # see the same number of them when an example is replayed.
        identifier = f"lst{next(_numbers):06d}.edu"
        made = Institution.create(
            identifier=identifier,
            name=f"List test {identifier}",
            type="SubscriptionInstitution" if parent else "MemberInstitution",
            member_institution=parent,
            **buckets(identifier),
        )
        self.institution_ids.append(made.id)
        return made

    def staff(self) -> Staff:
        """A new member institution with an institutional admin and user (see Staff)."""
        institution = self.institution()
        callers, headers = {}, {}
        for name, role in (("admin", "institutional_admin"), ("user", "institutional_user")):
            user = User.create(
                email=f"{name}@{institution.identifier}",
                name=f"Staff {name}",
                role=role,
                institution=institution,
            )
            headers[name] = {"X-Pharos-API-User": user.email, "X-Pharos-API-Key": issue_key(user)}
            callers[name] = Caller(user.id, user.email, role, institution.id)
        return Staff(institution, callers["admin"], callers["user"], headers)

    def member(self, parent: Institution | None = None) -> Member:
        """A new institution with an institutional_user who holds an API key."""
        institution = self.institution(parent)
        user = User.create(
            email=f"user@{institution.identifier}",
            name="List tester",
            role="institutional_user",
            institution=institution,
        )
        key = issue_key(user)
        return Member(institution, {"X-Pharos-API-User": user.email, "X-Pharos-API-Key": key})


@dataclass(frozen=True)
class Staff:
    """A member institution with an institutional admin and an institutional user, each with
    a key: the callers of the member API's writes (restores, the deletion flow)."""

    institution: Institution
    admin: Caller
    user: Caller
    headers: dict  # "admin" and "user": their request headers

    @property
    def id(self) -> int:
        return self.institution.id


def purge(institution_ids: list[int]) -> None:
    """Delete the institutions and every row that belongs to them, children before parents."""
    if not institution_ids:
        return
    ids = list(institution_ids)
    files = GenericFile.select(GenericFile.id).where(GenericFile.institution.in_(ids))
    users = User.select(User.id).where(User.institution.in_(ids))
    with connection(), database.atomic():
        # Alerts of these institutions, or addressed to their users (whatever the institution).
        alerts = [
            a.id
            for a in Alert.select(Alert.id).where(
                Alert.institution.in_(ids)
                | Alert.id.in_(AlertUser.select(AlertUser.alert).where(AlertUser.user.in_(users)))
            )
        ]
        requests = DeletionRequest.select(DeletionRequest.id).where(
            DeletionRequest.institution.in_(ids)
        )
        if alerts:
            AlertUser.delete().where(AlertUser.alert.in_(alerts)).execute()
            AlertPremisEvent.delete().where(AlertPremisEvent.alert.in_(alerts)).execute()
            AlertWorkItem.delete().where(AlertWorkItem.alert.in_(alerts)).execute()
            Alert.delete().where(Alert.id.in_(alerts)).execute()
        WorkItem.delete().where(WorkItem.institution.in_(ids)).execute()
        DeletionRequestFile.delete().where(
            DeletionRequestFile.deletion_request.in_(requests)
        ).execute()
        DeletionRequestObject.delete().where(
            DeletionRequestObject.deletion_request.in_(requests)
        ).execute()
        DeletionRequest.delete().where(DeletionRequest.institution.in_(ids)).execute()
        StorageRecord.delete().where(StorageRecord.generic_file.in_(files)).execute()
        Checksum.delete().where(Checksum.institution.in_(ids)).execute()
        PremisEvent.delete().where(PremisEvent.institution.in_(ids)).execute()
        GenericFile.delete().where(GenericFile.institution.in_(ids)).execute()
        IntellectualObject.delete().where(IntellectualObject.institution.in_(ids)).execute()
        ApiKey.delete().where(ApiKey.user.in_(users)).execute()
        User.delete().where(User.institution.in_(ids)).execute()
        Institution.update(member_institution=None).where(Institution.id.in_(ids)).execute()
        Institution.delete().where(Institution.id.in_(ids)).execute()


_ONE_STATEMENT = re.compile(r'^SELECT "c"\."n", "p"\.\* FROM \((.*?)\) AS "c"\("n"\) ', re.S)


def counting_sql(statement: str) -> str:
    """The count of a list's SQL statement: on PostgreSQL a list reads its count and its page
    in one statement (models.storage.query.Listing._one_statement), whose first subquery counts; on
    SQLite the count is a statement of its own."""
    found = _ONE_STATEMENT.match(statement)
    return found.group(1) if found else statement
