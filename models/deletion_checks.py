"""What must be true before the admin API marks a file or an object deleted (reference §5.3).

The deletion services call `DELETE /files/delete/{id}` and `/objects/delete/{id}` while they
carry out an approved deletion. Those calls are refused (409, saying which rule failed) unless
the deletion was asked for and approved, is being carried out now (a `Delete` work item with
status `Started`), and the storage's minimum retention period is over. The reference answers
500 to these failures; a conflict with the record's state is a 409 here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from models.deletion_request import DeletionRequest
from models.enums import COMPLETED_STATUSES
from models.errors import Conflict
from models.generic_file import GenericFile
from models.intellectual_object import IntellectualObject
from models.premis_event import PremisEvent
from models.storage.base import utcnow
from models.user import User
from models.work_item import WorkItem

# Minimum days a copy must be kept before deletion, by storage option (reference config).
# Wasabi-TX is missing from the reference's table, so it has none.
RETENTION_DAYS = {
    "Glacier-OH": 90,
    "Glacier-OR": 90,
    "Glacier-VA": 90,
    "Glacier-Deep-OH": 180,
    "Glacier-Deep-OR": 180,
    "Glacier-Deep-VA": 180,
    "Wasabi-OR": 90,
    "Wasabi-VA": 90,
    "Wasabi-TX": 0,
    "Standard": 0,
}


@dataclass(frozen=True)
class Approval:
    """Who asked for the deletion being carried out, and who approved it."""

    requester: str
    approver: str

    @property
    def outcome(self) -> dict:
        """The deletion event's outcome fields."""
        return {
            "outcome_detail": self.requester,
            "outcome_information": f"Deleted at the request of {self.requester}, "
            f"approved by {self.approver}",
        }


def retention_days(storage_option: str) -> int:
    return RETENTION_DAYS.get(storage_option, 0)


def check_file(stored: dict) -> Approval:
    """The approval a file's deletion is carried out under, or a 409 naming the rule broken."""
    what = f"File {stored['identifier']}"
    if stored["state"] == "D":
        refuse(f"{what} is deleted already", "is deleted already")
    _check_retention(what, stored["storage_option"], stored["created_at"])
    W = WorkItem
    object_id = stored["intellectual_object_id"]
    covers = (W.generic_file == stored["id"]) | (
        (W.intellectual_object == object_id) & W.generic_file.is_null()
    )
    return _approval(what, covers, "for the file or for its whole object")


def check_object(stored: IntellectualObject) -> Approval:
    """The approval an object's deletion is carried out under, or a 409 naming the rule."""
    what = f"Object {stored.identifier}"
    if stored.state == "D":
        refuse(f"{what} is deleted already", "is deleted already")
    F = GenericFile
    active = F.select().where((F.intellectual_object == stored.id) & (F.state == "A")).count()
    if active:
        refuse(f"{what} still has {active} active file(s); delete them first", "has active files")
    W = WorkItem
    busy = list(
        W.select(W.id, W.action, W.status)
        .where(
            (W.intellectual_object == stored.id)
            & W.status.not_in(COMPLETED_STATUSES)
            & ~((W.action == "Delete") & (W.status == "Started"))
        )
        .order_by(W.id)
        .limit(20)
    )
    if busy:
        listed = ", ".join(f"#{w.id} {w.action} ({w.status})" for w in busy)
        refuse(f"{what} has unfinished work items: {listed}", "has unfinished work items")
    _check_ingested_not_deleted(what, stored.id)
    _check_retention(what, stored.storage_option, stored.created_at)
    covers = (W.intellectual_object == stored.id) & W.generic_file.is_null()
    return _approval(what, covers, "for the object")


def refuse(detail: str, message: str) -> None:
    raise Conflict(detail, errors=[{"name": "id", "in": "path", "message": message}])


def _check_retention(what: str, storage_option: str, created_at: dt.datetime) -> None:
    days = retention_days(storage_option)
    until = created_at + dt.timedelta(days=days)
    if until > utcnow():
        refuse(
            f"{what} is within the {days}-day minimum retention of {storage_option} storage "
            f"until {until.isoformat(timespec='seconds')}Z",
            "is within its storage's retention period",
        )


def _check_ingested_not_deleted(what: str, object_id: int) -> None:
    E = PremisEvent
    object_level = (E.intellectual_object == object_id) & E.generic_file.is_null()
    ingested = (
        E.select(E.date_time)
        .where(object_level & (E.event_type == "ingestion"))
        .order_by(E.date_time.desc())
        .first()
    )
    if ingested is None:
        refuse(f"{what} has no object-level ingestion event", "was never ingested")
    deleted = (
        E.select()
        .where(object_level & (E.event_type == "deletion") & (E.date_time > ingested.date_time))
        .exists()
    )
    if deleted:
        refuse(
            f"{what} has a deletion event later than its last ingestion",
            "has a deletion event since its last ingestion",
        )


def _approval(what: str, covers, scope: str) -> Approval:
    """The newest Started Delete item matching `covers`, checked for its approvals."""
    W, D = WorkItem, DeletionRequest
    item = (
        W.select()
        .where(covers & (W.action == "Delete") & (W.status == "Started"))
        .order_by(W.updated_at.desc(), W.id.desc())
        .first()
    )
    if item is None:
        refuse(
            f"{what} has no Delete work item with status Started {scope}: the deletion "
            "services start one when they carry out an approved deletion request",
            "has no started Delete work item",
        )
    if not (item.inst_approver or "").strip():
        refuse(
            f"{what}: Delete work item #{item.id} names no institutional approver",
            "its Delete work item has no approver",
        )
    request = D.get_or_none(D.id == item.deletion_request_id) if item.deletion_request_id else None
    if request is None or request.confirmed_by_id is None or request.cancelled_by_id:
        refuse(
            f"{what}: Delete work item #{item.id} does not belong to an approved deletion request",
            "its deletion request is not approved",
        )
    requester = User.get_by_id(request.requested_by_id).email
    return Approval(requester=requester, approver=item.inst_approver)
