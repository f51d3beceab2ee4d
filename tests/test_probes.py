"""The health probes (registry/web/probes.py): `/livez` answers while the process is up,
database or not; `/readyz` answers 200 when the database answers a `SELECT 1`, else 503
problem+json with Retry-After within about a second; neither asks for credentials, and both
pass through the request pipeline."""

from __future__ import annotations

import pytest

from registry.web import probes
from tests.bounded import answered, bounded_app
from tests.db_proxy import DatabaseProxy, closed_port, silent_server
from tests.fixtures_api import assert_problem

SLACK = 2.0


def _ready_and_alive(client) -> None:
    for path, status in (("/livez", "alive"), ("/readyz", "ready")):
        response = client.get(path)
        assert response.status_code == 200, response.text
        assert response.json() == {"status": status}
        # Added by the pipeline's middleware (registry/web/pipeline.py): the probes pass
        # through it like every request.
        assert response.headers["cache-control"] == "private, no-cache"  # a tagged GET
        assert response.headers["x-content-type-options"] == "nosniff"


def _not_ready(response) -> dict:
    problem = assert_problem(response, 503)
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["x-content-type-options"] == "nosniff"
    return problem


def test_both_probes_answer_200_without_credentials(client):
    _ready_and_alive(client)


def test_readyz_answers_503_when_the_database_is_down_and_livez_still_200():
    with bounded_app(f"postgresql://postgres@127.0.0.1:{closed_port()}/x") as app:
        client = app.test_client()
        assert client.get("/livez").status_code == 200
        response, took = answered(lambda: client.get("/readyz"), within=1 + SLACK)
        assert "no connection to the database" in _not_ready(response)["detail"]


def test_readyz_answers_within_a_second_when_the_database_never_answers():
    """A server that accepts and never answers: 503 after READY_TIMEOUT, long before the
    connect timeout; a second check while the first is still out answers 503 at once,
    without taking another database thread."""
    with (
        silent_server() as port,
        bounded_app(f"postgresql://postgres@127.0.0.1:{port}/x", db_connect_timeout_s=5) as app,
    ):
        with app.test_client() as client:  # one event loop for both requests
            response, took = answered(lambda: client.get("/readyz"), within=1 + SLACK)
            assert "did not answer within 1 s" in _not_ready(response)["detail"]
            assert probes.READY_TIMEOUT - 0.1 <= took
            response, took = answered(lambda: client.get("/readyz"), within=SLACK)
            assert "has not returned yet" in _not_ready(response)["detail"]
            assert took < 0.5


def test_readyz_tracks_the_database(backend, database_url, world):
    if backend != "postgres":
        pytest.skip("a fault of the PostgreSQL server")
    proxy = DatabaseProxy(database_url)
    try:
        with bounded_app(proxy.url) as app:
            client = app.test_client()
            _ready_and_alive(client)
            proxy.down()
            _not_ready(answered(lambda: client.get("/readyz"), within=1 + SLACK)[0])
            assert client.get("/livez").status_code == 200
            proxy.up()
            response, _ = answered(lambda: client.get("/readyz"), within=1 + SLACK)
            assert response.status_code == 200
    finally:
        proxy.close()


def test_readyz_answers_503_while_the_drain_file_exists(tmp_path, database_url):
    """REGISTRY_DRAIN_FILE: its presence takes the instance out of a load balancer that polls
    /readyz, at once and without asking the database; /livez and the API go on answering."""
    drain = tmp_path / "drain"
    with bounded_app(database_url, drain_file=str(drain)) as app:
        client = app.test_client()
        _ready_and_alive(client)
        drain.touch()
        response, took = answered(lambda: client.get("/readyz"), within=SLACK)
        assert "draining" in _not_ready(response)["detail"]
        assert client.get("/livez").status_code == 200
        drain.unlink()
        assert client.get("/readyz").status_code == 200
