"""Restoration spot tests (`registry spot-tests run`, for cron): now and then each institution
gets one of its objects restored, to see that restores work and that it can use what comes back.

An institution with `spot_restore_frequency` N > 0 (days) is due when it never had a spot test,
or when the work item of its last one (`last_spot_restore_work_item_id`) was last processed
more than N days ago. For a due institution the run queues a restore of its smallest object of
at least 10,000 bytes that no `Restore Object` item restored successfully in the last N days
(as the reference chooses it), through the same code as a restore request, as the system user,
and records the item on the institution. Registry also passes over deleted objects and objects
with a restore pending already (the reference does neither; one would fail, the other make a
second restore of the same object), and over deactivated institutions.

The run happens at most once in 24 hours, and never twice at once: its last-run row is read
locked (models.internal_metadata.claim) and written in the same transaction as the restores, so
a second run started meanwhile waits for the first, then finds it ran already.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import peewee

from models.caller import Caller
from models.enums import COMPLETED_STATUSES, SYSADMIN
from models.errors import Conflict
from models.institution import Institution
from models.intellectual_object import IntellectualObject
from models.internal_metadata import SPOT_TESTS_LAST_RUN, as_text, claim, from_text, store
from models.restore import restore_object
from models.storage.base import utcnow
from models.storage.db import connection, write_transaction
from models.user import User
from models.work_item import WorkItem

MIN_SIZE = 10_000
RUN_EVERY = dt.timedelta(hours=24)


class SpotTestError(Exception):
    """The run cannot start (no usable system user)."""


@dataclass
class SpotTestRun:
    """What a run did: `ran` is False when it ran less than 24 hours ago (nothing done)."""

    ran: bool
    now: dt.datetime
    last_run: dt.datetime | None
    queued: list[dict] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def run_spot_tests(system_email: str) -> SpotTestRun:
    with connection(), write_transaction():
        stored = claim(SPOT_TESTS_LAST_RUN)
        now = utcnow()
        last_run = from_text(stored) if stored else None
        if last_run is not None and now - last_run < RUN_EVERY:
            return SpotTestRun(
                ran=False,
                now=now,
                last_run=last_run,
                lines=[
                    f"not run: the last run was at {as_text(last_run)}; at most one run in 24 "
                    f"hours, so the next may start after {as_text(last_run + RUN_EVERY)}"
                ],
            )
        system = _system_caller(system_email)
        run = SpotTestRun(ran=True, now=now, last_run=last_run)
        for institution in (
            Institution.select()
            .where(
                (Institution.spot_restore_frequency > 0)
                & Institution.deactivated_at.is_null()
                & (Institution.state == "A")
            )
            .order_by(Institution.identifier)
        ):
            _spot_test(run, institution, system)
        store(SPOT_TESTS_LAST_RUN, as_text(now))
        run.lines.append(f"{len(run.queued)} spot-test restore(s) queued")
        return run


def _system_caller(email: str) -> Caller:
    user = User.get_or_none((User.email == email.strip().lower()) & User.deactivated_at.is_null())
    if user is None or user.role != SYSADMIN:
        raise SpotTestError(
            f"the system user {email} must be an active sysadmin (role admin); create it with "
            f"`registry users create --email {email} --role admin --institution aptrust.org "
            "--name 'System'`, or name another with --user"
        )
    return Caller(user.id, user.email, user.role, user.institution_id)


def _spot_test(run: SpotTestRun, institution: Institution, system: Caller) -> None:
    days = institution.spot_restore_frequency
    name = institution.identifier
    last_id = institution.last_spot_restore_work_item_id
    if last_id is not None:
        last = WorkItem.get_or_none(WorkItem.id == last_id)
        if last is not None and last.date_processed >= run.now - dt.timedelta(days=days):
            run.lines.append(
                f"{name}: not due (every {days} days; work item {last_id} was processed at "
                f"{as_text(last.date_processed)})"
            )
            return
    obj = _candidate(institution.id, days, run.now)
    if obj is None:
        run.lines.append(
            f"{name}: due (every {days} days), but no active object of at least "
            f"{MIN_SIZE} bytes is free to restore: nothing queued"
        )
        return
    try:
        item = restore_object(system, str(obj.id))
    except Conflict as exc:  # requested meanwhile by a member: the institution stays due
        run.lines.append(f"{name}: due (every {days} days), but {exc.detail}: nothing queued")
        return
    Institution.update(last_spot_restore_work_item_id=item["id"]).where(
        Institution.id == institution.id
    ).execute()
    run.queued.append(
        {
            "institution": name,
            "work_item_id": item["id"],
            "object": obj.identifier,
            "action": item["action"],
            "size": obj.size,
        }
    )
    run.lines.append(
        f"{name}: queued work item {item['id']} ({item['action']} of "
        f"{obj.identifier}, {obj.size} bytes; every {days} days)"
    )


def _candidate(institution_id: int, days: int, now: dt.datetime) -> IntellectualObject | None:
    """The institution's smallest active object of at least MIN_SIZE bytes that was not
    restored successfully (`Restore Object`) in the last `days` days and has no restore
    pending."""
    O, W = IntellectualObject, WorkItem
    since = now.replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=days)
    restored_lately = W.select(W.id).where(
        (W.intellectual_object == O.id)
        & (W.action == "Restore Object")
        & (W.status == "Success")
        & (W.updated_at > since)
    )
    pending = W.select(W.id).where(
        (W.intellectual_object == O.id)
        & W.action.in_(("Restore Object", "Glacier Restore"))
        & W.status.not_in(COMPLETED_STATUSES)
    )
    return (
        O.select(O.id, O.identifier, O.size)
        .where(
            (O.institution == institution_id)
            & (O.state == "A")
            & (O.size >= MIN_SIZE)
            & ~peewee.fn.EXISTS(restored_lately)
            & ~peewee.fn.EXISTS(pending)
        )
        .order_by(O.size, O.id)
        .first()
    )
