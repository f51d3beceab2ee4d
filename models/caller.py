"""Who is asking: the authenticated user as the data layer needs to know them, and the
credential they presented (a key or a bearer token), which `GET /member-api/v3/me` shows."""

import datetime as dt
from dataclasses import dataclass

from models.enums import SYSADMIN

# What a credential may do: `read` keys and tokens call reads only (registry/web/authz.py).
READ = "read"
READ_WRITE = "read_write"
SCOPES = (READ, READ_WRITE)


@dataclass(frozen=True, slots=True)
class Caller:
    user_id: int
    email: str
    role: str
    institution_id: int
    # The credential of the request; callers made in code (jobs, the CLI) have the defaults.
    scope: str = READ_WRITE
    credential: str | None = None  # the key's prefix, or the token's id; never a secret
    credential_kind: str | None = None  # "key" or "token"
    credential_expires_at: dt.datetime | None = None
    key_id: int | None = None  # the key presented, or the key that made the token
    key_last_used_at: dt.datetime | None = None  # as read when authenticating (keys only)
    token_row_id: int | None = None  # the token's row (tokens only): what logout revokes
    key_tag: str | None = None  # the key's rate-limit partition (keys only): its tokens' tail

    @property
    def is_sysadmin(self) -> bool:
        return self.role == SYSADMIN
