"""Authentication: X-Pharos-API-User AND X-Pharos-API-Key, both required.

Connexion calls one function per security scheme. The user header alone proves nothing, so its
function only records it; the key's function reads both headers and checks them together.
"""

from __future__ import annotations

from connexion.exceptions import Forbidden

from models import user as users
from registry.web import observe
from registry.web.connexion_seam import ApiKeyHandler
from registry.web.threads import run_read

USER_HEADER = "X-Pharos-API-User"


def accept_user_header(api_key: str, required_scopes=None):
    return {"sub": api_key}


async def authenticate(api_key: str, request, required_scopes=None):
    email = request.headers.get(USER_HEADER)
    caller = await run_read(users.authenticate, email, api_key)
    if caller is None:
        return None  # Connexion answers 401
    observe.note_caller(caller.email)  # for the request's log line
    return {"sub": caller.email, "caller": caller}


async def authenticate_sysadmin(api_key: str, request, required_scopes=None):
    """As `authenticate`, for the admin API: a valid key of any other role answers 403 before
    the request is looked at any further (parameters, bodies, existence of records)."""
    token = await authenticate(api_key, request, required_scopes)
    if token is not None and not token["caller"].is_sysadmin:
        raise Forbidden(
            "The admin API is for sysadmins; use the member API (/member-api/v3) with this key"
        )
    return token


# The `security_map` of the app: which handler verifies each scheme type of the spec.
SECURITY_MAP = {"apiKey": ApiKeyHandler}
