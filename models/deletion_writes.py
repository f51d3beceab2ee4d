"""The deletion-request flow: an institutional admin asks, an admin approves or cancels.

The reference runs this flow in its web UI, with an e-mailed confirmation token. Here the API
key already says who the admin is, so no token travels: the request row still gets a token
column (the SHA-256 of a random value nobody keeps), as the reference's schema requires one.

Approval turns the request into one `Delete` work item per file or object, which the deletion
services carry out (then calling the admin API's delete operations, models.deletion_checks).
Every step is one transaction and sends its alert to the institution's active admins.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

import peewee

from models.alert import Alert, AlertUser, AlertWorkItem
from models.caller import Caller
from models.deletion_request import (
    DELETIONS,
    DeletionRequest,
    DeletionRequestFile,
    DeletionRequestObject,
)
from models.enums import COMPLETED_STATUSES
from models.errors import Conflict, Forbidden, NotFound, quoted
from models.generic_file import GenericFile
from models.institution import Institution
from models.intellectual_object import IntellectualObject
from models.restore import ingest_source
from models.storage.base import utcnow
from models.storage.db import connection, locked, write_transaction
from models.user import User
from models.work_item import WorkItem

INSTITUTIONAL_ADMIN = "institutional_admin"


def request_object_deletion(caller: Caller, key: str) -> dict:
    with connection():
        with write_transaction():
            obj = _locked_object(key)
            _check_own(caller, obj.institution_id, f"No intellectual object matches {quoted(key)}")
            if obj.state == "D":
                raise Conflict(f"Object {obj.identifier} is deleted already")
            _check_unfinished_items(_object_items([obj.id]), obj.identifier)
            _check_not_requested(_pending_for_objects([obj.id]), obj.identifier)
            request_id = _file_request(caller.user_id, obj.institution_id, objects=[obj.id])
        return DELETIONS.get(caller, request_id)


def request_file_deletion(caller: Caller, key: str) -> dict:
    with connection():
        with write_transaction():
            f = _locked_file(key)
            _check_own(caller, f.institution_id, f"No generic file matches {quoted(key)}")
            if f.state == "D":
                raise Conflict(f"File {f.identifier} is deleted already")
            W = WorkItem
            items = W.select().where(
                (W.generic_file == f.id)
                | ((W.intellectual_object == f.intellectual_object_id) & W.generic_file.is_null())
            )
            _check_unfinished_items(items, f.identifier)
            pending = _pending_for_files([f.id]) | _pending_for_objects([f.intellectual_object_id])
            _check_not_requested(pending, f.identifier)
            request_id = _file_request(caller.user_id, f.institution_id, files=[f.id])
        return DELETIONS.get(caller, request_id)


def request_batch_deletion(institution_id: int, requestor: User, object_ids: list[int]) -> int:
    """A request for many objects at once, filed by the admin API for `requestor` (checked by
    the caller of this function); 409 when an object is busy or already requested."""
    O = IntellectualObject
    with write_transaction():
        # In id order, as every writer that locks several objects does (models.stats).
        objects = list(
            _lock(O.select(O.id, O.identifier).where(O.id.in_(object_ids)).order_by(O.id))
        )
        names = ", ".join(o.identifier for o in objects)
        _check_unfinished_items(_object_items(object_ids), names)
        _check_not_requested(_pending_for_objects(object_ids), names)
        return _file_request(requestor.id, institution_id, objects=object_ids)


def approve_deletion(caller: Caller, request_id: int) -> dict:
    with connection():
        with write_transaction():
            request = _request(caller, request_id)
            if (
                request.requested_by_id == caller.user_id
                and _active_admin_count(request.institution_id) > 1
            ):
                raise Forbidden(
                    "You filed this deletion request: another institutional admin "
                    "of your institution must approve it"
                )
            now = utcnow()
            _settle(request_id, confirmed_by=caller.user_id, confirmed_at=now)
            items = _delete_items(request, caller.email, now)
            _alert(
                request.institution_id,
                "Deletion Confirmed",
                request_id,
                now,
                f"Deletion request {request_id} was approved by {caller.email}; "
                f"{len(items)} Delete work item(s) are queued.",
                items,
            )
        return DELETIONS.get(caller, request_id)


def cancel_deletion(caller: Caller, request_id: int) -> dict:
    with connection():
        with write_transaction():
            request = _request(caller, request_id)
            now = utcnow()
            _settle(request_id, cancelled_by=caller.user_id, cancelled_at=now)
            _alert(
                request.institution_id,
                "Deletion Cancelled",
                request_id,
                now,
                f"Deletion request {request_id} was cancelled by {caller.email}; "
                "nothing will be deleted.",
            )
        return DELETIONS.get(caller, request_id)


def active_admins(institution_id: int) -> peewee.ModelSelect:
    U = User
    return U.select().where(
        (U.institution == institution_id)
        & (U.role == INSTITUTIONAL_ADMIN)
        & U.deactivated_at.is_null()
    )


# -- looking things up ---------------------------------------------------------------------------


def _lock(query):
    """Rows locked until the transaction ends (models.storage.db.locked): two requests for one
    object are taken one after the other."""
    return locked(query)


def _by_key(model, key: str):
    """The condition selecting the record `key` names (an id or an identifier), or None when it
    can name none (PostgreSQL refuses a NUL in text, and no identifier holds one)."""
    text = str(key)
    if "\x00" in text:
        return None
    if text.isascii() and text.isdigit():
        value = int(text)
        return model.id == value if 0 < value < 2**63 else None
    return model.identifier == text


def _locked_object(key: str) -> IntellectualObject:
    where = _by_key(IntellectualObject, key)
    found = _lock(IntellectualObject.select().where(where)).first() if where is not None else None
    if found is None:
        raise NotFound(f"No intellectual object matches {quoted(key)}")
    return found


def _locked_file(key: str) -> GenericFile:
    where = _by_key(GenericFile, key)
    found = _lock(GenericFile.select().where(where)).first() if where is not None else None
    if found is None:
        raise NotFound(f"No generic file matches {quoted(key)}")
    return found


def _check_own(caller: Caller, institution_id: int, not_found: str) -> None:
    """Another institution's record answers 404, as every member read does: the flow must not
    tell one institution's admins what another institution holds."""
    if caller.institution_id != institution_id:
        raise NotFound(not_found)


def _request(caller: Caller, request_id: int) -> DeletionRequest:
    request = DeletionRequest.get_or_none(DeletionRequest.id == request_id)
    if request is None:
        raise NotFound(f"No deletion request has id {request_id}")
    _check_own(caller, request.institution_id, f"No deletion request has id {request_id}")
    return request


def _settle(request_id: int, **decision) -> None:
    """Record the approval or cancellation, or answer 409 if the request is decided already.

    A conditional UPDATE: only the first of two simultaneous decisions (two approvals, or an
    approval racing a cancel) changes the row; the other finds nothing left to update."""
    D = DeletionRequest
    claimed = (
        D.update(**decision)
        .where((D.id == request_id) & D.confirmed_by.is_null() & D.cancelled_by.is_null())
        .execute()
    )
    if not claimed:
        raise Conflict(_settled(request_id))


def _settled(request_id: int) -> str:
    request = DeletionRequest.get_by_id(request_id)
    state = "cancelled" if request.cancelled_by_id else "approved"
    return f"Deletion request {request_id} is {state} already"


def _object_items(object_ids: list[int]) -> peewee.ModelSelect:
    return WorkItem.select().where(WorkItem.intellectual_object.in_(object_ids))


def _check_unfinished_items(items: peewee.ModelSelect, subject: str) -> None:
    W = WorkItem
    busy = list(items.where(W.status.not_in(COMPLETED_STATUSES)).order_by(W.id).limit(20))
    if busy:
        listed = ", ".join(f"#{w.id} {w.action} ({w.status})" for w in busy)
        raise Conflict(
            f"Unfinished work items on {subject}: {listed}. Wait until they are "
            "finished (or cancelled)"
        )


def _open_requests():
    D = DeletionRequest
    return D.confirmed_by.is_null() & D.cancelled_by.is_null()


def _pending_for_objects(object_ids: Iterable[int]) -> set[int]:
    DO = DeletionRequestObject
    rows = (
        DO.select(DO.deletion_request)
        .join(DeletionRequest)
        .where(DO.intellectual_object.in_(list(object_ids)) & _open_requests())
    )
    return {row.deletion_request_id for row in rows}


def _pending_for_files(file_ids: Iterable[int]) -> set[int]:
    DF = DeletionRequestFile
    rows = (
        DF.select(DF.deletion_request)
        .join(DeletionRequest)
        .where(DF.generic_file.in_(list(file_ids)) & _open_requests())
    )
    return {row.deletion_request_id for row in rows}


def _check_not_requested(pending: set[int], subject: str) -> None:
    """409 when a request awaiting approval covers the subject already; the problem names the
    first of them (`existing_id`), which a client whose first answer was lost is after."""
    if pending:
        listed = ", ".join(str(i) for i in sorted(pending))
        raise Conflict(
            f"{subject} is already covered by deletion request(s) {listed}, "
            "awaiting approval: approve or cancel that first",
            existing=("deletions", min(pending)),
        )


def _active_admin_count(institution_id: int) -> int:
    return active_admins(institution_id).count()


# -- writing -------------------------------------------------------------------------------------


def _file_request(
    requester_id: int, institution_id: int, *, objects: list[int] = (), files: list[int] = ()
) -> int:
    now = utcnow()
    request_id = DeletionRequest.insert(
        institution=institution_id,
        requested_by=requester_id,
        requested_at=now,
        # Never checked: the API key authenticates the approver (see the module docstring).
        encrypted_confirmation_token=hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
    ).execute()
    if objects:
        DeletionRequestObject.insert_many(
            [{"deletion_request": request_id, "intellectual_object": o} for o in objects]
        ).execute()
    if files:
        DeletionRequestFile.insert_many(
            [{"deletion_request": request_id, "generic_file": f} for f in files]
        ).execute()
    requester = User.get_by_id(requester_id)
    count = len(objects) + len(files)
    noun = "object(s)" if objects else "file(s)"
    _alert(
        institution_id,
        "Deletion Requested",
        request_id,
        now,
        f"{requester.email} asks to delete {count} {noun} (deletion request {request_id}). "
        "Another institutional admin, or the requester when they are the only one, may "
        f"approve it: POST /member-api/v3/deletions/{request_id}/approve, or cancel it: "
        f"POST /member-api/v3/deletions/{request_id}/cancel.",
    )
    return request_id


def _delete_items(request: DeletionRequest, approver: str, now) -> list[int]:
    """One Delete work item per file and per object of the request, as the reference builds
    them: the bag as last ingested, the requester as `user`, the approver as `inst_approver`."""
    requester = User.get_by_id(request.requested_by_id).email
    F, O = GenericFile, IntellectualObject
    DF, DO = DeletionRequestFile, DeletionRequestObject
    targets = [
        (f.intellectual_object_id, f.id, f.size)
        for f in F.select(F.id, F.intellectual_object, F.size)
        .join(DF, on=(DF.generic_file == F.id))
        .where(DF.deletion_request == request.id)
        .order_by(F.id)
    ]
    targets += [
        (o.id, None, o.size)
        for o in O.select(O.id, O.size)
        .join(DO, on=(DO.intellectual_object == O.id))
        .where(DO.deletion_request == request.id)
        .order_by(O.id)
    ]
    ids = []
    for object_id, file_id, size in targets:
        source = ingest_source(object_id)
        ids.append(
            WorkItem.insert(
                intellectual_object=object_id,
                generic_file=file_id,
                institution=request.institution_id,
                name=source["name"],
                bucket=source["bucket"],
                etag=source["etag"],
                bag_date=source["bag_date"],
                user=requester,
                inst_approver=approver,
                deletion_request=request.id,
                action="Delete",
                stage="Requested",
                status="Pending",
                note="Deletion approved",
                outcome="Not started",
                retry=True,
                needs_admin_review=False,
                pid=0,
                size=size or 0,
                date_processed=now,
                created_at=now,
                updated_at=now,
            ).execute()
        )
    return ids


def _alert(
    institution_id: int,
    type_: str,
    request_id: int,
    now,
    content: str,
    work_items: Iterable[int] = (),
) -> None:
    """An alert to every active institutional admin of the institution."""
    name = Institution.get_by_id(institution_id).name
    alert_id = Alert.insert(
        institution=institution_id,
        type=type_,
        subject=f"{type_} at {name}",
        content=content,
        deletion_request=request_id,
        created_at=now,
    ).execute()
    recipients = [
        {"alert": alert_id, "user": u.id, "sent_at": now}
        for u in active_admins(institution_id).order_by(User.id)
    ]
    if recipients:
        AlertUser.insert_many(recipients).execute()
    links = [{"alert": alert_id, "work_item": i} for i in work_items]
    if links:
        AlertWorkItem.insert_many(links).execute()
