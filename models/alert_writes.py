"""Alerts the registry sends by itself (failed fixity checks, completed restorations), and a
member marking their own alerts read or unread.

Registry sends no e-mail: an alert is stored with one `alerts_users` row per recipient
(`sent_at` = when it was made) and read through the API. A member's marks touch only those
rows of theirs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import peewee

from models.alert import Alert, AlertPremisEvent, AlertUser, AlertWorkItem
from models.caller import Caller
from models.premis_event import PremisEvent
from models.storage.base import utcnow
from models.storage.db import connection, write_transaction


def create_alert(
    institution_id: int,
    type_: str,
    subject: str,
    content: str,
    recipients: Iterable[int],
    now: dt.datetime,
    *,
    work_items: Iterable[int] = (),
    premis_events: peewee.Expression | None = None,
) -> int:
    """Store an alert to `recipients` (user ids), linked to work items and to the PREMIS events
    that match a condition (linked by the database, in one statement). Its id."""
    alert_id = Alert.insert(
        institution=institution_id, type=type_, subject=subject, content=content, created_at=now
    ).execute()
    rows = [{"alert": alert_id, "user": user_id, "sent_at": now} for user_id in recipients]
    if rows:
        AlertUser.insert_many(rows).execute()
    links = [{"alert": alert_id, "work_item": item_id} for item_id in work_items]
    if links:
        AlertWorkItem.insert_many(links).execute()
    if premis_events is not None:
        AlertPremisEvent.insert_from(
            PremisEvent.select(peewee.Value(alert_id), PremisEvent.id).where(premis_events),
            [AlertPremisEvent.alert, AlertPremisEvent.premis_event],
        ).execute()
    return alert_id


def _own(caller: Caller) -> peewee.Expression:
    """The caller's own copies of alerts: addressed to them and, for a member, of their
    institution (what list_alerts shows them)."""
    condition = AlertUser.user == caller.user_id
    if not caller.is_sysadmin:
        condition &= AlertUser.alert.in_(
            Alert.select(Alert.id).where(Alert.institution == caller.institution_id)
        )
    return condition


def mark_alerts(caller: Caller, alert_ids: list[int], read: bool) -> dict:
    """Mark the caller's copies of these alerts read (now, unless read already) or unread.

    An id that names no alert addressed to the caller fails, whether it exists or not, and
    nothing of it changes: the answer tells nobody about other people's alerts.
    """
    wanted = list(dict.fromkeys(alert_ids))  # each id once, in the order sent
    AU = AlertUser
    with connection(), write_transaction():
        mine = {
            row.alert_id for row in AU.select(AU.alert).where(_own(caller) & AU.alert.in_(wanted))
        }
        if mine:
            update = AU.update(read_at=utcnow() if read else None).where(
                (AU.user == caller.user_id) & AU.alert.in_(sorted(mine))
            )
            if read:
                update = update.where(AU.read_at.is_null())  # the first reading is kept
            update.execute()
    failed = [i for i in wanted if i not in mine]
    return {
        "succeeded": [i for i in wanted if i in mine],
        "failed": failed,
        "error": (
            f"No alert addressed to you has the id(s) {', '.join(map(str, failed))}"
            if failed
            else None
        ),
    }


def mark_all_alerts_read(caller: Caller) -> dict:
    """Mark every unread alert of the caller's read; the answer lists them."""
    AU = AlertUser
    with connection(), write_transaction():
        unread = _own(caller) & AU.read_at.is_null()
        ids = [row.alert_id for row in AU.select(AU.alert).where(unread).order_by(AU.alert)]
        if ids:
            AU.update(read_at=utcnow()).where(unread).execute()
    return {"succeeded": ids, "failed": [], "error": None}
