"""Users and their API keys (admin API). No response but issue_api_key's carries a key."""

from handlers.common import list_response, show_response
from models import user_writes as writes
from models.user import USERS
from registry.spec import ADMIN_SPEC
from registry.web.locations import Location, created
from registry.web.responses import json_response
from registry.web.threads import run_write

SHOW_USER = Location(ADMIN_SPEC, "show_user")


async def list_users(caller, target, **params):
    if isinstance(params.get("email"), str):
        params["email"] = params["email"].lower()  # stored in lower case
    return await list_response(USERS, caller, params, target)


async def show_user(caller, id: int):
    return await show_response(USERS.get, caller, id)


async def create_user(caller, body: dict):
    view = await run_write(writes.create_user, caller, body)
    return created(view, SHOW_USER)


async def disable_user(caller, id: int):
    return json_response(await run_write(writes.disable_user, caller, id))


async def issue_api_key(caller, id: int):
    return json_response(await run_write(writes.issue_api_key, caller, id), 201)


async def revoke_api_key(caller, id: int, prefix: str):
    return json_response(await run_write(writes.revoke_api_key, caller, id, prefix))


async def revoke_api_keys(caller, id: int):
    return json_response(await run_write(writes.revoke_api_keys, caller, id))
