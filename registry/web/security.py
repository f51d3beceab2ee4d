"""Authentication: X-Pharos-API-User AND X-Pharos-API-Key, or `Authorization: Bearer <token>`.

Connexion calls one function per security scheme. The user header alone proves nothing, so its
function only records it; the key's function reads both headers and checks them together. A
bearer token (models/token.py, made by POST /member-api/v3/login) is the alternative: the specs
declare the two requirements, keys first.

Nothing is cached between requests: every request's key or token is looked up by its digest
(one indexed SELECT, which also checks its key, user and institution), so a revocation, a
logout, an expiry or a disabled user takes effect on the next request on every worker and
every server, with nothing to invalidate.
"""

from __future__ import annotations

from connexion.exceptions import Forbidden

from models import token as tokens
from models import user as users
from registry.web import observe
from registry.web.connexion_seam import ApiKeyHandler, BearerHandler
from registry.web.threads import run_read

USER_HEADER = "X-Pharos-API-User"


def accept_user_header(api_key: str, required_scopes=None):
    return {"sub": api_key}


async def authenticate(api_key: str, request, required_scopes=None):
    email = request.headers.get(USER_HEADER)
    caller = await run_read(users.authenticate, email, api_key)
    if caller is None:
        return None  # Connexion answers 401
    if users.needs_touch(caller.key_last_used_at):
        # At most once a minute per key (the database's condition decides among workers);
        # a best-effort write that never waits for a lock, so it runs as a read does.
        await run_read(users.touch_key, caller.key_id)
    observe.note_caller(caller.email)  # for the request's log line
    return {"sub": caller.email, "caller": caller}


async def authenticate_token(token: str, required_scopes=None):
    caller = await run_read(tokens.authenticate_token, token)
    if caller is None:
        return None  # Connexion answers 401
    observe.note_caller(caller.email)  # the e-mail, never the token
    return {"sub": caller.email, "caller": caller}


def _sysadmins_only(token_info):
    if token_info is not None and not token_info["caller"].is_sysadmin:
        raise Forbidden(
            "The admin API is for sysadmins; use the member API (/member-api/v3) with this key"
        )
    return token_info


async def authenticate_sysadmin(api_key: str, request, required_scopes=None):
    """As `authenticate`, for the admin API: a valid key of any other role answers 403 before
    the request is looked at any further (parameters, bodies, existence of records)."""
    return _sysadmins_only(await authenticate(api_key, request, required_scopes))


async def authenticate_token_sysadmin(token: str, required_scopes=None):
    """As `authenticate_token`, for the admin API (403 for a token of any other role)."""
    return _sysadmins_only(await authenticate_token(token, required_scopes))


# The `security_map` of the app: which handler verifies each scheme type of the spec.
SECURITY_MAP = {"apiKey": ApiKeyHandler, "bearer": BearerHandler}
