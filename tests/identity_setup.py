"""Members of a test's own for the identity tests (keys, tokens, /me): each test makes fresh
users, so that the keys and tokens it makes, revokes and counts are its own and never those of
the session's known world, which every other test relies on."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from models.storage.db import connection, database
from models.token import ApiToken
from models.user import ApiKey, User, issue_key

MEMBER = "/member-api/v3"
ADMIN = "/admin-api/v3"


@dataclass
class Member:
    email: str
    key: str
    user_id: int
    institution_id: int
    role: str

    @property
    def headers(self) -> dict:
        return key_headers(self.email, self.key)


def key_headers(email: str, key: str) -> dict:
    return {"X-Pharos-API-User": email, "X-Pharos-API-Key": key}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def new_member(
    world, role: str = "institutional_user", institution: str = "example.edu", **key
) -> Member:
    """A new user of `institution` with one key (`key`: issue_key's label, scope, expires_at)."""
    institution_id = world.institutions[institution]
    email = f"id-{uuid.uuid4().hex[:12]}@{institution}"
    with connection(), database.atomic():
        user = User.create(email=email, name="Identity Test", role=role, institution=institution_id)
        secret = issue_key(user, **key)
    return Member(email, secret, user.id, institution_id, role)


def login(client, headers: dict, **params) -> dict:
    response = client.post(f"{MEMBER}/login", headers=headers, params=params)
    assert response.status_code == 201, response.text
    return response.json()


def make_key(client, headers: dict, **body) -> dict:
    response = client.post(f"{MEMBER}/keys", headers=headers, json={"label": "test", **body})
    assert response.status_code == 201, response.text
    return response.json()


def set_key(prefix: str, **fields) -> None:
    with connection():
        ApiKey.update(**fields).where(ApiKey.prefix == prefix).execute()


def set_token(token: str, **fields) -> None:
    with connection():
        ApiToken.update(**fields).where(
            ApiToken.digest == hashlib.sha256(token.encode()).hexdigest()
        ).execute()


def key_row(prefix: str) -> ApiKey:
    with connection():
        return ApiKey.get(ApiKey.prefix == prefix)
