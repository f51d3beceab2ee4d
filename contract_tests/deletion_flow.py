"""The member API's deletion flow in the contract suite: who runs it, and how it is undone.

Only institutional admins take part in the flow (registry.web.authz), and the suite's member
personas are a sysadmin and an institutional user: both rightly answer 403. So the flow's four
operations get a run of their own as admin@example.edu (`PERSONA`), whose 2xx on the spec's
examples (demo requests 8 and 9, example.edu objects and files no other example names) the
suite asserts like any other operation's.

That run files, approves and cancels requests on seeded records, which later tests read (demo
request states, alerts, work items of example.edu). `undone()` puts the database back as the run
found it: what it created is deleted, the requests it decided are undecided again.
"""

from __future__ import annotations

from contextlib import contextmanager

PERSONA = "inst_admin"
OPERATIONS = [
    "request_object_deletion",
    "request_file_deletion",
    "approve_deletion",
    "cancel_deletion",
]


def _last_id(model) -> int:
    row = model.select(model.id).order_by(model.id.desc()).first()
    return row.id if row else 0


@contextmanager
def undone():
    from models.alert import Alert, AlertPremisEvent, AlertUser, AlertWorkItem
    from models.deletion_request import DeletionRequest, DeletionRequestFile, DeletionRequestObject
    from models.storage.db import connection, database
    from models.work_item import WorkItem

    D = DeletionRequest
    with connection():
        marks = {model: _last_id(model) for model in (D, WorkItem, Alert)}
        decisions = list(
            D.select(D.id, D.confirmed_by, D.confirmed_at, D.cancelled_by, D.cancelled_at).dicts()
        )
    try:
        yield
    finally:
        with connection(), database.atomic():
            alerts = Alert.select(Alert.id).where(Alert.id > marks[Alert])
            for link in (AlertUser, AlertWorkItem, AlertPremisEvent):
                link.delete().where(link.alert.in_(alerts)).execute()
            Alert.delete().where(Alert.id > marks[Alert]).execute()
            WorkItem.delete().where(WorkItem.id > marks[WorkItem]).execute()
            requests = D.select(D.id).where(D.id > marks[D])
            for link in (DeletionRequestFile, DeletionRequestObject):
                link.delete().where(link.deletion_request.in_(requests)).execute()
            D.delete().where(D.id > marks[D]).execute()
            for row in decisions:
                D.update(**{k: v for k, v in row.items() if k != "id"}).where(
                    D.id == row["id"]
                ).execute()
