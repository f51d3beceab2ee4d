"""Alerts: list and show one alert as received by one user; a member marks their own read."""

from handlers.common import list_response, show_response
from models import alert_writes
from models.alert import ALERTS, alert_detail
from registry.web.responses import json_response
from registry.web.threads import run_write


async def list_alerts(caller, target, **params):
    return await list_response(ALERTS, caller, params, target)


async def show_alert(caller, id: int, user_id: int):
    return await show_response(alert_detail, caller, (id, user_id))


async def mark_alerts_read(caller, body: dict):
    return json_response(await run_write(alert_writes.mark_alerts, caller, body["id__in"], True))


async def mark_alerts_unread(caller, body: dict):
    return json_response(await run_write(alert_writes.mark_alerts, caller, body["id__in"], False))


async def mark_all_alerts_read(caller):
    return json_response(await run_write(alert_writes.mark_all_alerts_read, caller))
