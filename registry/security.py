"""Authentication: X-Pharos-API-User AND X-Pharos-API-Key, both required.

Connexion calls one function per security scheme. The user header alone proves nothing, so its
function only records it; the key's function reads both headers and checks them together.
"""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool

from models import user as users

USER_HEADER = "X-Pharos-API-User"
KEY_HEADER = "X-Pharos-API-Key"


def accept_user_header(api_key: str, required_scopes=None):
    return {"sub": api_key}


async def authenticate(api_key: str, request, required_scopes=None):
    email = request.headers.get(USER_HEADER)
    caller = await run_in_threadpool(users.authenticate, email, api_key)
    if caller is None:
        return None  # Connexion answers 401
    return {"sub": caller.email, "caller": caller}
