"""The daily failed-fixity run (admin API)."""

from models import fixity_alerts
from registry.web.responses import json_response
from registry.web.threads import run_write


async def generate_failed_fixity_alerts(caller):
    run = await run_write(fixity_alerts.generate_failed_fixity_alerts, caller)
    return json_response(run, 201 if run["count"] else 200)  # 201: alerts were made
