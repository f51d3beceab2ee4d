"""Deprecation notices (registry/web/deprecation.py): a request to a deprecated operation, or
one that sends a deprecated parameter, is answered with Deprecation, Sunset and Link headers,
on both ways a request is served (the fast reads and Connexion's chain); other requests are
not; /changelog serves the changelog the Link points to."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

import registry.app
from registry.spec import ADMIN_SPEC, MEMBER_SPEC, load_spec
from registry.web.deprecation import CHANGELOG, Notice, Notices

SINCE, SUNSET = "2026-12-01", "2027-06-30"
DATES = {"deprecated": True, "x-deprecated-since": SINCE, "x-sunset": SUNSET}


def _deprecated_documents() -> list[dict]:
    """The served documents, with list_checksums (a fast read), mark_all_alerts_read (a POST,
    Connexion's chain) and list_objects' `sort` parameter deprecated."""
    documents = [load_spec(MEMBER_SPEC), load_spec(ADMIN_SPEC)]
    for document in documents:
        for item in document["paths"].values():
            for operation in item.values():
                if not isinstance(operation, dict):
                    continue
                if operation.get("operationId") in ("list_checksums", "mark_all_alerts_read"):
                    operation.update(DATES)
                if operation.get("operationId") == "list_objects":
                    for parameter in operation["parameters"]:
                        if parameter.get("name") == "sort":
                            parameter.update(DATES)
    return documents


@pytest.fixture
def deprecating_client(own_client, monkeypatch):
    notices = Notices.of(_deprecated_documents())
    monkeypatch.setattr(registry.app.Notices, "of", classmethod(lambda cls, documents: notices))
    return own_client()


def _noticed(response) -> bool:
    headers = response.headers
    if "deprecation" not in headers:
        assert "sunset" not in headers
        return False
    since = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert headers["deprecation"] == f"@{int(since.timestamp())}"
    assert headers["sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
    assert headers["link"] == '</changelog>; rel="deprecation"; type="text/markdown"'
    return True


def test_a_deprecated_operation_is_noticed_on_both_paths(deprecating_client, world):
    member = world["inst_user"].headers
    assert _noticed(deprecating_client.get("/member-api/v3/checksums", headers=member))
    sysadmin = world["sysadmin"].headers
    assert _noticed(deprecating_client.get("/admin-api/v3/checksums", headers=sysadmin))
    marked = deprecating_client.post("/member-api/v3/alerts/mark_all_as_read", headers=member)
    assert marked.status_code < 300, marked.text
    assert _noticed(marked)


def test_errors_of_a_deprecated_operation_are_noticed_too(deprecating_client):
    refused = deprecating_client.get("/member-api/v3/checksums?per_page=0")
    assert refused.status_code in (400, 401)
    assert _noticed(refused)


def test_a_deprecated_parameter_is_noticed_only_when_sent(deprecating_client, world):
    member = world["inst_user"].headers
    plain = deprecating_client.get("/member-api/v3/objects", headers=member)
    sorted_ = deprecating_client.get("/member-api/v3/objects?sort=size__asc", headers=member)
    assert plain.status_code == sorted_.status_code == 200
    assert not _noticed(plain)
    assert _noticed(sorted_)


def test_other_operations_carry_no_notice(deprecating_client, world):
    answer = deprecating_client.get("/member-api/v3/items", headers=world["inst_user"].headers)
    assert answer.status_code == 200 and not _noticed(answer)


def test_the_served_documents_deprecate_nothing_yet():
    assert Notices.of([load_spec(MEMBER_SPEC), load_spec(ADMIN_SPEC)]) == Notices({}, {})


def test_a_deprecation_without_dates_is_refused_at_start_up():
    documents = _deprecated_documents()
    broken = copy.deepcopy(documents)
    for item in broken[0]["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("operationId") == "list_checksums":
                del operation["x-sunset"]
    with pytest.raises(ValueError, match="x-sunset"):
        Notices.of(broken)
    assert Notice.of(DATES, "x").sunset == dt.date(2027, 6, 30)


def test_the_changelog_is_served(client):
    answer = client.get("/changelog")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/markdown; charset=utf-8"
    assert answer.content == CHANGELOG.read_bytes()
