"""Alerts: list and show one alert as received by one user."""
from handlers.common import list_response, show_response
from models.alert import show_alert as find_alert
from models.alert import ALERTS


async def list_alerts(caller, target, **params):
    return await list_response(ALERTS, caller, params, target)


async def show_alert(caller, id: int, user_id: int):
    return await show_response(find_alert, caller, (id, user_id))
