"""`Restoration Completed` alerts: a restore work item that an update takes to `Success` tells
its institution's active users where the object (or file) was restored.

The restore services say where in the item's `note` (`... restored to <URL>.`), and the
reference takes the URL from there; when the note carries none, the reference sends nothing
(it only logs), while Registry still sends the alert and names the institution's restore
bucket instead. A spot-test restore (the item an institution's `last_spot_restore_work_item_id`
names) gets the spot test's own subject and text.
"""

from __future__ import annotations

import datetime as dt

from models.alert_writes import create_alert
from models.generic_file import GenericFile
from models.institution import Institution
from models.intellectual_object import IntellectualObject
from models.user import User
from models.work_item import WorkItem

ALERT_TYPE = "Restoration Completed"
# The reference alerts on these two; a Glacier restore's item does not alert.
ALERTING_ACTIONS = ("Restore Object", "Restore File")
URL_MARKER = " restored to "


def alerts_on_success(action: str, old_status: str, new_status: str | None) -> bool:
    """Whether an update that takes a work item from `old_status` to `new_status` completes a
    restore: each restore alerts once, when it reaches Success."""
    return action in ALERTING_ACTIONS and new_status == "Success" and old_status != "Success"


def restored_url(note: str | None) -> str | None:
    """The URL after ` restored to ` in a note, without the sentence's final period."""
    if not note or URL_MARKER not in note:
        return None
    words = note.split(URL_MARKER, 1)[1].split()
    url = words[0].rstrip(".") if words else ""
    return url or None


def alert_restoration_completed(item_id: int, now: dt.datetime) -> int:
    """Store the alert for a restore item that has just succeeded; its id. Runs in the
    transaction that wrote the item, so the alert and the status change commit together."""
    item = WorkItem.get_by_id(item_id)
    institution = Institution.get_by_id(item.institution_id)
    url = restored_url(item.note)
    where = url or (
        f"your institution's restore bucket, {institution.restore_bucket} (the "
        "restore services named no URL)"
    )
    U = User
    recipients = [
        u.id
        for u in U.select(U.id)
        .where((U.institution == institution.id) & U.deactivated_at.is_null())
        .order_by(U.id)
    ]
    if (
        item.action == "Restore Object"
        and item.intellectual_object_id is not None
        and institution.last_spot_restore_work_item_id == item.id
    ):
        obj = IntellectualObject.get_by_id(item.intellectual_object_id)
        subject = "Restoration Spot Test Completed"
        content = (
            f"As part of your institution's restoration spot test, {obj.identifier} was "
            f"restored to {where}. Please check that it came back whole and that you can make "
            "sense of (and, if you need to, import) its contents. Your institution's spot tests "
            f"run every {institution.spot_restore_frequency} days; the registry's operators can "
            "change that frequency for you, and a frequency of 0 turns spot tests off."
        )
    else:
        requester = U.get_or_none(U.email == item.user)
        subject = ALERT_TYPE
        content = (
            f"The restoration requested by {requester.name if requester else item.user} "
            f"is complete: {_restored_name(item)} is now at {where}."
        )
    return create_alert(
        institution.id, ALERT_TYPE, subject, content, recipients, now, work_items=[item.id]
    )


def _restored_name(item: WorkItem) -> str:
    """The file's identifier for a file restore, else the object's (else the bag's name)."""
    if item.generic_file_id is not None:
        return GenericFile.get_by_id(item.generic_file_id).identifier
    if item.intellectual_object_id is not None:
        return IntellectualObject.get_by_id(item.intellectual_object_id).identifier
    return item.name
