"""Bad input on checksums, events, items, deletions, alerts and restores: a 400 problem+json
naming the parameter, never a 500 (the same contract as objects and files)."""

from __future__ import annotations

import pytest

from tests.fixtures_api import assert_problem, error_names

BASE = "/member-api/v3"
CASES = [
    ("checksums", "algorithm=crc32", "algorithm"),
    ("checksums", "datetime__gteq=soon", "datetime__gteq"),
    ("checksums", "sort=generic_file_identfier__asc", "sort"),  # the reference's typo
    ("checksums", "generic_file_id=abc", "generic_file_id"),
    ("checksums", "state=Z", "state"),
    ("events", "event_type=party", "event_type"),
    ("events", "outcome=Maybe", "outcome"),
    ("events", "generic_file_id__is_null=perhaps", "generic_file_id__is_null"),
    ("events", "date_time__lteq=2024-01-32", "date_time__lteq"),
    ("items", "action=Dance", "action"),
    ("items", "action__in=Ingest&action__in=Dance", "action__in"),
    ("items", "stage__in=Nowhere", "stage__in"),
    ("items", "status=Done", "status"),
    ("items", "node__is_not_null=true", "node__is_not_null"),  # the reference spec's typo
    ("items", "queued_at__not_null=maybe", "queued_at__not_null"),
    ("items", "retry=sometimes", "retry"),
    ("items", "sort=identifier__asc", "sort"),  # no such column
    ("items", "size__gteq=3.5", "size__gteq"),
    ("deletions", "status=Pending", "status"),
    ("deletions", "stage=Requested", "stage"),
    ("deletions", "sort=stage__asc", "sort"),
    ("deletions", "requested_at__gteq=x", "requested_at__gteq"),
    ("alerts", "type=Birthday", "type"),
    ("alerts", "user_id=abc", "user_id"),
    ("alerts", "per_page=0", "per_page"),
    ("checksums/show/0", "", "id"),
    ("items/show/abc", "", "id"),
    ("deletions/show/99999999999999999999", "", "id"),
    ("alerts/show/1/abc", "", "user_id"),
    ("alerts/show/abc/1", "", "id"),
]


@pytest.mark.parametrize("path, query, name", CASES)
def test_bad_parameter_is_named_in_a_400(client, world, path, query, name):
    response = client.get(f"{BASE}/{path}?{query}", headers=world["sysadmin"].headers)
    body = assert_problem(response, 400)
    assert name in error_names(body)


@pytest.mark.parametrize("path", ["objects/1/restore", "files/1/restore"])
def test_restore_rejects_query_parameters(client, world, path):
    response = client.post(f"{BASE}/{path}?priority=high", headers=world["inst_user"].headers)
    body = assert_problem(response, 400)
    assert error_names(body) == {"priority"}


@pytest.mark.parametrize("path", ["objects/1/restore", "files/1/restore"])
def test_restore_is_post_only(client, world, path):
    response = client.get(f"{BASE}/{path}", headers=world["inst_user"].headers)
    assert_problem(response, 405)
