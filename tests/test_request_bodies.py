"""A request body framed by Transfer-Encoding: chunked (no Content-Length) is taken like one with
a Content-Length: same answers for the same bytes (registry.web.validation.NamingJSONBodyValidator
gives it its length before Connexion's body check, which took it for a missing body: 400
"RequestBody is required"). The test client sends an iterable body chunked, as a socket would;
tests/test_live_server.py sends one over a real socket to a served app.
"""

from __future__ import annotations

import json
import uuid

import pytest

from models.storage.db import connection
from tests.fixtures_api import assert_problem, error_names
from tests.listing_rows import Scratch

ADMIN = "/admin-api/v3"


def chunks(data: bytes, size: int = 5):
    for start in range(0, len(data), size):
        yield data[start : start + size]


def post(client, admin, path: str, data: bytes, *, chunked: bool):
    headers = {**admin, "Content-Type": "application/json"}
    response = client.post(path, content=chunks(data) if chunked else data, headers=headers)
    assert ("transfer-encoding" in response.request.headers) is chunked
    assert ("content-length" in response.request.headers) is not chunked
    return response


@pytest.fixture(scope="module")
def home(client):
    """An institution of the module's own, removed with its rows at the end."""
    with Scratch() as scratch:
        with connection():
            institution = scratch.institution()
        yield institution


def test_a_chunked_body_is_taken_like_one_with_a_length(client, admin, home):
    for chunked in (True, False):
        identifier = f"{home.identifier}/chunks-{uuid.uuid4().hex[:10]}"
        body = json.dumps({"title": "in pieces", "identifier": identifier}).encode()
        created = post(client, admin, f"{ADMIN}/objects/create/{home.id}", body, chunked=chunked)
        assert created.status_code == 201, created.text
        files = [
            {
                "identifier": f"{identifier}/data/{i}",
                "intellectual_object_id": created.json()["id"],
                "file_format": "text/plain",
                "size": i,
                "uuid": str(uuid.uuid4()),
            }
            for i in range(300)
        ]
        batch = post(
            client,
            admin,
            f"{ADMIN}/files/create_batch/{home.id}",
            json.dumps(files).encode(),
            chunked=chunked,
        )
        assert batch.status_code == 201, batch.text
        assert batch.json()["count"] == 300


def test_a_bad_chunked_body_is_refused_like_one_with_a_length(client, admin, home):
    path = f"{ADMIN}/objects/create/{home.id}"
    for data, name in (
        (b"", None),
        (b'{"title": ', ""),
        (b'{"title": "no identifier"}', "identifier"),
    ):
        answers = [post(client, admin, path, data, chunked=chunked) for chunked in (True, False)]
        bodies = [assert_problem(answer, 400) for answer in answers]
        assert bodies[0]["detail"] == bodies[1]["detail"]
        if name is not None:
            assert name in error_names(bodies[0])
