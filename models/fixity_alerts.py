"""The daily failed-fixity run (POST /admin-api/v3/alerts/generate_failed_fixity_alerts).

The reference's fixity service calls it once a day. Each run covers the fixity checks recorded
since the previous run (the first run: since yesterday 00:00 UTC): per institution it counts the
`fixity check` events whose outcome is `Failure` and alerts the institution's active
institutional admins; one more alert, over every institution, goes to the operator's active
staff. The reference compares the outcome with 'Failed', a value no event has, so it never
alerts anybody; Registry counts the real failures.

Concurrency: the run reads its last-run row locked (models.internal_metadata.claim) and stores
the new one in the same transaction, so of two runs at once the second starts where the first
ended and finds nothing new: the same failures are never alerted twice.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import peewee

from models.alert_writes import create_alert
from models.caller import Caller
from models.deletion_writes import active_admins
from models.enums import SYSTEM_USER
from models.errors import Conflict
from models.institution import Institution
from models.institution_writes import OPERATOR_INSTITUTION
from models.internal_metadata import FIXITY_ALERTS_LAST_RUN, as_text, claim, from_text, store
from models.premis_event import PremisEvent
from models.storage.base import utcnow
from models.storage.db import connection, write_transaction
from models.user import User

ALERT_TYPE = "Failed Fixity Check"
EVENTS_LINK = "/member-api/v3/events"


def generate_failed_fixity_alerts(caller: Caller) -> dict:
    """Run once (for a sysadmin caller; the run is the same whoever asks); the answer, in the
    reference's shape: `count` failures alerted (the API answers 201, or 200 for none), or a
    409 (raised) as the reference answers it."""
    with connection(), write_transaction():
        stored = claim(FIXITY_ALERTS_LAST_RUN)
        now = utcnow()
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        since = from_text(stored) if stored else today - dt.timedelta(days=1)
        if since == today:
            # The reference's only refusal: a last run stored as exactly today 00:00 UTC.
            raise Conflict(
                f"Failed fixity alerts were generated today already (the last run "
                f"is recorded as {as_text(since)})"
            )
        failed = (
            (PremisEvent.event_type == "fixity check")
            & (PremisEvent.outcome == "Failure")
            & (PremisEvent.date_time > since)
            & (PremisEvent.date_time <= now)
        )
        summaries = _summaries(failed)
        for summary in summaries:
            institution_id = summary["institution_id"]
            recipients = [u.id for u in active_admins(institution_id).order_by(User.id)]
            create_alert(
                institution_id,
                ALERT_TYPE,
                ALERT_TYPE,
                _content(summary["failures"], since, now, institution_id),
                recipients,
                now,
                premis_events=failed & (PremisEvent.institution == institution_id),
            )
            if not recipients:
                summary["error"] = (
                    "the institution has no active institutional admin: the "
                    "alert was stored for nobody"
                )
        if summaries:
            _alert_operator(failed, sum(s["failures"] for s in summaries), since, now)
        store(FIXITY_ALERTS_LAST_RUN, as_text(now))
    count = sum(s["failures"] for s in summaries)
    return {"count": count, "next": "", "previous": "", "results": summaries}


def _summaries(failed: peewee.Expression) -> list[dict]:
    """Failures per institution, by institution name (as the reference orders them)."""
    E, I = PremisEvent, Institution
    rows = (
        E.select(
            peewee.fn.COUNT(E.id).alias("failures"),
            E.institution.alias("institution_id"),
            I.name.alias("institution_name"),
        )
        .join(I, on=(E.institution == I.id))
        .where(failed)
        .group_by(E.institution, I.name)
        .order_by(I.name, E.institution)
        .dicts()
    )
    return [
        {
            "failures": r["failures"],
            "institution_id": r["institution_id"],
            "institution_name": r["institution_name"],
            "error": None,
        }
        for r in rows
    ]


def _alert_operator(failed, failures: int, since, now) -> None:
    """One alert over every institution to the operator's active staff (not the service
    account). Without an operator institution there is nobody to tell."""
    operator = Institution.get_or_none(Institution.identifier == OPERATOR_INSTITUTION)
    if operator is None:
        return
    U = User
    staff = [
        u.id
        for u in U.select(U.id)
        .where(
            (U.institution == operator.id) & U.deactivated_at.is_null() & (U.email != SYSTEM_USER)
        )
        .order_by(U.id)
    ]
    create_alert(
        operator.id,
        ALERT_TYPE,
        ALERT_TYPE,
        _content(failures, since, now, None),
        staff,
        now,
        premis_events=failed,
    )


def _content(
    failures: int, since: dt.datetime, now: dt.datetime, institution_id: int | None
) -> str:
    query = {
        "event_type": "fixity check",
        "outcome": "Failure",
        "date_time__gteq": as_text(since),
        "date_time__lteq": as_text(now),
    }
    if institution_id is not None:
        query["institution_id"] = institution_id
    where = "at your institution" if institution_id is not None else "across all institutions"
    return (
        f"{failures} fixity check(s) {where} failed between {as_text(since)} and "
        f"{as_text(now)}. A failed check does not always mean data loss; please review "
        f"the files concerned. The events: {EVENTS_LINK}?{urlencode(query)}"
    )
