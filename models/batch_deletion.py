"""Batch deletion requests filed through the admin API on a member's behalf (reference §5.5).

A trusted operator files one deletion request for many objects of an institution, naming the
institutional admin it is filed for. Beyond the sysadmin key, the body must carry a shared
secret (setting REGISTRY_BATCH_DELETION_KEY): a second key, so that a leaked sysadmin key alone
cannot queue deletions. The request then goes through the usual approval (models.deletion_writes).
"""

from __future__ import annotations

import hmac
import uuid

from models.caller import Caller
from models.deletion_request import DELETIONS
from models.deletion_writes import INSTITUTIONAL_ADMIN, request_batch_deletion
from models.errors import DomainError, NotFound, RuleViolation, body_error
from models.institution import Institution
from models.intellectual_object import IntellectualObject
from models.storage.db import connection
from models.user import User


class NotConfigured(DomainError):
    status = 503
    title = "Service Unavailable"


def valid_key(key: str | None) -> bool:
    """The server's batch key is usable: a UUID, as the reference requires."""
    try:
        return bool(key) and str(uuid.UUID(key)) == key.lower()
    except ValueError:
        return False


def init_batch_delete(caller: Caller, body: dict, server_key: str | None) -> dict:
    if not valid_key(server_key):
        raise NotConfigured(
            "Batch deletion is not configured on this server: set "
            "REGISTRY_BATCH_DELETION_KEY to a UUID"
        )
    sent = body["secretKey"].strip().lower().encode()
    if not hmac.compare_digest(sent, server_key.lower().encode()):
        raise RuleViolation(
            "The secret key does not match this server's batch deletion key",
            errors=[body_error("secretKey", "does not match")],
        )
    institution_id, requestor_id = body["institutionId"], body["requestorId"]
    object_ids = list(dict.fromkeys(body["objectIds"]))
    with connection():
        if Institution.get_or_none(Institution.id == institution_id) is None:
            raise NotFound(
                f"No institution has id {institution_id}",
                errors=[body_error("institutionId", "no such institution")],
            )
        requestor = User.get_or_none(User.id == requestor_id)
        if requestor is None:
            raise NotFound(
                f"No user has id {requestor_id}", errors=[body_error("requestorId", "no such user")]
            )
        if (
            requestor.role != INSTITUTIONAL_ADMIN
            or requestor.institution_id != institution_id
            or requestor.deactivated_at is not None
        ):
            raise RuleViolation(
                f"User {requestor_id} is not an active institutional admin of institution "
                f"{institution_id}",
                errors=[
                    body_error(
                        "requestorId", "must be an active institutional admin of institutionId"
                    )
                ],
            )
        O = IntellectualObject
        good = {
            row.id
            for row in O.select(O.id).where(
                O.id.in_(object_ids) & (O.institution == institution_id) & (O.state == "A")
            )
        }
        bad = [i for i in object_ids if i not in good]
        if bad:
            listed = ", ".join(str(i) for i in bad[:100])
            raise RuleViolation(
                f"Not active objects of institution {institution_id}: {listed}",
                errors=[
                    body_error(
                        "objectIds", f"not active objects of institution {institution_id}: {listed}"
                    )
                ],
            )
        request_id = request_batch_deletion(institution_id, requestor, object_ids)
        return DELETIONS.get(caller, request_id)
