"""The daily failed-fixity run (admin API)."""

from models.fixity_alerts import generate_failed_fixity_alerts as run
from registry.web.responses import json_response
from registry.web.threads import run_write


async def generate_failed_fixity_alerts(caller):
    body, status = await run_write(run)
    return json_response(body, status)
