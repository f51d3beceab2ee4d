"""Who the caller is, their own keys, and bearer tokens (member API), and anyone's keys (admin
API). Only create_key's and login's responses carry a secret, once."""

import datetime as dt

from handlers.common import list_response
from models import identity
from models import token as tokens
from models.user import USERS
from registry.web.responses import json_response
from registry.web.threads import run_read, run_write


async def show_me(caller):
    return json_response(await run_read(identity.me, caller))


async def list_keys(caller, target, **params):
    params["user_id"] = caller.user_id  # one's own, sysadmins' included
    return await list_response(identity.KEYS, caller, params, target)


async def create_key(caller, body: dict, settings):
    issued = await run_write(identity.create_own_key, caller, body, settings.max_keys_per_user)
    return json_response(issued, 201)


async def revoke_key(caller, prefix: str):
    return json_response(await run_write(identity.revoke_own_key, caller, prefix))


async def login(caller, settings, scope: str | None = None):
    lifetime = dt.timedelta(seconds=settings.token_lifetime_s)
    issued = await run_write(tokens.issue_token, caller, lifetime, scope)
    return json_response(issued, 201)


async def logout(caller, all: bool = False):
    return json_response(await run_write(tokens.revoke_token, caller, all))


async def list_api_keys(caller, target, id: int, **params):
    await run_read(USERS.get, caller, id)  # 404 for no such user
    params["user_id"] = id
    return await list_response(identity.KEYS, caller, params, target)
