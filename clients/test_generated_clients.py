"""Smoke test of the Python clients that openapi-generator builds from the *served* specs.

It runs against a live `registry serve` (see clients/run.sh, `make clients`) and calls every
operation of the member and the admin API through the generated code, so that a spec a generator
cannot turn into a working client fails here. Each step checks what the client deserialized
(model types, key values, filters and paging honoured) and that the server sent no field the spec
does not declare (the generated models would silently drop it).

STEPS is the table: one row per call, in run order (later rows use records that earlier rows
made). A row names the API and the operationId it calls; the recorder below checks that the
request really went to that operation and was answered 2xx. The last test compares the
operations of both served specs with those called: a new operation in a spec fails it until a
row calls it.

Environment: REGISTRY_URL, REGISTRY_CLIENTS_DIR (where run.sh generated the packages),
REGISTRY_MEMBER_USER/REGISTRY_MEMBER_KEY (an institutional user of example.edu),
REGISTRY_INST_ADMIN_USER/REGISTRY_INST_ADMIN_KEY (example.edu's only institutional admin),
REGISTRY_ADMIN_USER/REGISTRY_ADMIN_KEY (a sysadmin), REGISTRY_BATCH_DELETION_KEY (the served
app's batch deletion secret).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

BASE_URL = os.environ.get("REGISTRY_URL", "http://127.0.0.1:8080")
CLIENTS_DIR = Path(os.environ.get("REGISTRY_CLIENTS_DIR", "build/clients"))
sys.path[:0] = [str(CLIENTS_DIR / "py-member"), str(CLIENTS_DIR / "py-admin")]

import pydantic  # noqa: E402
import registry_admin_client as A  # noqa: E402
import registry_member_client as M  # noqa: E402

SPEC_URLS = {"member": f"{BASE_URL}/openapi.json", "admin": f"{BASE_URL}/admin-api/v3/openapi.json"}
HTTP_METHODS = ("get", "put", "post", "delete", "patch")


def served_operations(api: str) -> dict[tuple[str, str], str]:
    """(METHOD, path template) -> operationId, from the spec the server serves."""
    with urllib.request.urlopen(SPEC_URLS[api]) as response:
        spec = json.load(response)
    return {
        (method.upper(), path): op["operationId"]
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in HTTP_METHODS
    }


OPERATIONS = {api: served_operations(api) for api in SPEC_URLS}
CALLED: dict[str, set[str]] = {api: set() for api in SPEC_URLS}
STEP_CALLS: list[str] = []  # the operations answered 2xx during the current step


# -- recording and strict deserialization ---------------------------------------------------------


def recording_client(package, api: str):
    """An ApiClient of `package` that records each operation answered 2xx, and checks that every
    JSON body it deserializes has no field its model lacks."""

    class RecordingApiClient(package.ApiClient):
        api_name = api
        last_operation: str | None = None

        def param_serialize(self, method, resource_path, *args, **kwargs):
            self.last_operation = OPERATIONS[api].get((method.upper(), resource_path))
            assert self.last_operation, f"{method} {resource_path} is not in the served {api} spec"
            return super().param_serialize(method, resource_path, *args, **kwargs)

        def response_deserialize(self, response_data, response_types_map=None):
            result = super().response_deserialize(response_data, response_types_map)
            if 200 <= result.status_code < 300:
                if isinstance(result.data, pydantic.BaseModel):
                    assert_declared(result.data, json.loads(response_data.data))
                CALLED[api].add(self.last_operation)
                STEP_CALLS.append(self.last_operation)
            return result

    return RecordingApiClient


def assert_declared(model: pydantic.BaseModel, raw: dict, where: str = "$") -> None:
    """Every key of the raw JSON is a field of the generated model, recursively."""
    fields = {
        (info.serialization_alias or info.alias or name): name
        for name, info in type(model).model_fields.items()
    }
    unknown = sorted(set(raw) - set(fields))
    assert not unknown, f"{where}: {type(model).__name__} has no field(s) {unknown}"
    for key, name in fields.items():
        value, sub = getattr(model, name), raw.get(key)
        if isinstance(value, pydantic.BaseModel) and isinstance(sub, dict):
            assert_declared(value, sub, f"{where}.{key}")
        elif isinstance(value, list) and isinstance(sub, list):
            for i, (item, raw_item) in enumerate(zip(value, sub, strict=True)):
                if isinstance(item, pydantic.BaseModel):
                    assert_declared(item, raw_item, f"{where}.{key}[{i}]")


def api_set(package, api: str, host: str, user: str, key: str) -> SimpleNamespace:
    """One instance of each generated *Api class of `package`, sharing one recording client."""
    config = package.Configuration(host=host, api_key={"apiUser": user, "apiKey": key})
    client = recording_client(package, api)(config)
    return SimpleNamespace(
        **{
            name: getattr(package, name)(client)
            for name in dir(package.api)
            if name.endswith("Api")
        }
    )


def token_api_set(package, api: str, host: str, token: str) -> SimpleNamespace:
    """As `api_set`, authenticated by a bearer token instead of the key headers."""
    client = recording_client(package, api)(package.Configuration(host=host, access_token=token))
    return SimpleNamespace(
        **{
            name: getattr(package, name)(client)
            for name in dir(package.api)
            if name.endswith("Api")
        }
    )


def page_of(link: str) -> int | None:
    """The `page` query parameter of a next/previous link (None for `""`, no such page)."""
    if link == "":
        return None
    return int(parse_qs(urlsplit(link).query)["page"][0])


def exported(method, model, **params) -> list:
    """An export called through the generated client. Its deserializer reads JSON and text only,
    so a stream is read as a client reads one: the method's `_without_preload_content` form (the
    raw answer), each NDJSON line into the generated row `model`. Recorded as called, as the
    recording client records a deserialized answer."""
    raw = getattr(method.__self__, f"{method.__name__}_without_preload_content")(**params)
    assert raw.status == 200, raw.data
    api_client = method.__self__.api_client
    operation = api_client.last_operation
    content_type = raw.headers.get("content-type", "")
    body = raw.read().decode()
    if content_type.startswith("text/csv"):
        rows = body.splitlines()[1:]
    else:
        assert content_type == "application/x-ndjson", content_type
        rows = [model.from_dict(json.loads(line)) for line in body.splitlines()]
        assert all(isinstance(row, model) for row in rows)
        for row, line in zip(rows, body.splitlines(), strict=True):
            assert_declared(row, json.loads(line))
    CALLED[api_client.api_name].add(operation)
    STEP_CALLS.append(operation)
    return rows


def header(response, name: str) -> str | None:
    """A header of a `*_with_http_info` answer (the generated ApiResponse keeps them in a plain,
    case-sensitive dict of the names as sent)."""
    return {k.lower(): v for k, v in (response.headers or {}).items()}.get(name.lower())


def assert_problem(
    package, exception: type, status: int, call: Callable[[], Any], model: str = "Problem"
):
    """`call` raises the generated client's `exception`, carrying a deserialized Problem (or
    the problem `model` the operation documents, e.g. ConflictProblem)."""
    with pytest.raises(exception) as raised:
        call()
    problem = raised.value.data
    assert isinstance(problem, getattr(package, model))
    assert problem.status == status == raised.value.status
    return problem


# -- the context the steps share -------------------------------------------------------------------


@pytest.fixture(scope="module")
def ctx() -> SimpleNamespace:
    member = api_set(
        M, "member", BASE_URL, os.environ["REGISTRY_MEMBER_USER"], os.environ["REGISTRY_MEMBER_KEY"]
    )
    admin = api_set(
        A,
        "admin",
        f"{BASE_URL}/admin-api/v3",
        os.environ["REGISTRY_ADMIN_USER"],
        os.environ["REGISTRY_ADMIN_KEY"],
    )
    inst_admin = api_set(
        M,
        "member",
        BASE_URL,
        os.environ["REGISTRY_INST_ADMIN_USER"],
        os.environ["REGISTRY_INST_ADMIN_KEY"],
    )
    tag = uuid.uuid4().hex[:10]
    return SimpleNamespace(
        m=member,
        mi=inst_admin,
        a=admin,
        tag=tag,
        member_email=os.environ["REGISTRY_MEMBER_USER"],
        admin_email=os.environ["REGISTRY_ADMIN_USER"],
        admin_key=os.environ["REGISTRY_ADMIN_KEY"],
        inst_admin_email=os.environ["REGISTRY_INST_ADMIN_USER"],
        batch_key=uuid.UUID(os.environ["REGISTRY_BATCH_DELETION_KEY"]),
    )


# -- member API steps -----------------------------------------------------------------------------


def m_list_objects(c):
    # A datetime filter as the generated client writes it (`%z`: +0000, not RFC 3339's +00:00).
    page = c.m.IntellectualObjectsApi.list_objects(
        page=2,
        per_page=5,
        sort=["identifier__asc"],
        state=M.State.A,
        updated_at__gteq=dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
    )
    assert isinstance(page, M.IntellectualObjectViewList)
    assert len(page.results) == 5 and page.count > 10
    assert (page_of(page.previous), page_of(page.next)) == (1, 3)
    assert all(isinstance(o, M.IntellectualObjectView) for o in page.results)
    assert all(
        o.institution_identifier == "example.edu" and o.state == M.State.A for o in page.results
    )
    identifiers = [o.identifier for o in page.results]
    assert identifiers == sorted(identifiers)
    assert isinstance(page.results[0].created_at, dt.datetime)
    c.object = page.results[0]
    # Cursor paging: `cursor="*"`, then the `cursor` of each `next`, to the end.
    seen, cursor = [], "*"
    while cursor:
        page = c.m.IntellectualObjectsApi.list_objects(
            cursor=cursor, per_page=7, sort=["identifier__asc"]
        )
        assert page.previous == ""
        seen += [o.identifier for o in page.results]
        cursor = parse_qs(urlsplit(page.next).query)["cursor"][0] if page.next else None
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == page.count


def m_export_objects(c):
    rows = exported(
        c.m.IntellectualObjectsApi.export_objects,
        M.IntellectualObjectView,
        state=M.State.A,
        sort=["identifier__asc"],
    )
    listed = c.m.IntellectualObjectsApi.list_objects(
        state=M.State.A, sort=["identifier__asc"], per_page=1000
    )
    assert [o.id for o in rows] == [o.id for o in listed.results] and len(rows) == listed.count
    csv_rows = exported(
        c.m.IntellectualObjectsApi.export_objects,
        M.IntellectualObjectView,
        state=M.State.A,
        _headers={"Accept": "text/csv"},
    )
    assert len(csv_rows) == listed.count


def m_show_object(c):
    by_id = c.m.IntellectualObjectsApi.show_object(str(c.object.id))
    by_identifier = c.m.IntellectualObjectsApi.show_object(c.object.identifier)
    assert isinstance(by_id, M.IntellectualObjectView)
    assert "/" in c.object.identifier  # the identifier travels as one %2F-encoded path segment
    assert by_id == by_identifier == c.object
    missing = assert_problem(
        M,
        M.exceptions.NotFoundException,
        404,
        lambda: c.m.IntellectualObjectsApi.show_object("example.edu/no-such-bag"),
    )
    assert "example.edu/no-such-bag" in missing.detail


def m_list_files(c):
    page = c.m.GenericFilesApi.list_files(
        intellectual_object_id=c.object.id, per_page=2, sort=["identifier__asc"], state=M.State.A
    )
    assert isinstance(page, M.GenericFileViewList) and page.count == c.object.file_count
    assert page.previous == "" and len(page.results) == min(2, page.count)
    assert all(
        isinstance(f, M.GenericFileView) and f.intellectual_object_id == c.object.id
        for f in page.results
    )
    c.file = page.results[0]
    assert c.file.identifier.startswith(c.object.identifier + "/")


def m_export_files(c):
    rows = exported(
        c.m.GenericFilesApi.export_files,
        M.GenericFileView,
        intellectual_object_id=c.object.id,
        state=M.State.A,
    )
    assert len(rows) == c.object.file_count
    assert {f.intellectual_object_id for f in rows} == {c.object.id}


def m_show_file(c):
    by_id = c.m.GenericFilesApi.show_file(str(c.file.id))
    by_identifier = c.m.GenericFilesApi.show_file(c.file.identifier)
    assert isinstance(by_id, M.GenericFile) and by_id == by_identifier
    assert (by_id.id, by_id.uuid, by_id.size) == (c.file.id, c.file.uuid, c.file.size)
    assert all(isinstance(x, M.Checksum) for x in by_id.checksums) and by_id.checksums
    assert all(isinstance(x, M.StorageRecord) for x in by_id.storage_records)


def m_request_object_restore(c):
    item = c.m.IntellectualObjectsApi.request_object_restore(c.object.identifier)
    assert isinstance(item, M.WorkItemView)
    assert (item.intellectual_object_id, item.generic_file_id) == (c.object.id, None)
    assert item.action in (M.WorkItemAction.RESTORE_OBJECT, M.WorkItemAction.GLACIER_RESTORE)
    assert (item.stage, item.status) == (M.WorkItemStage.REQUESTED, M.WorkItemStatus.PENDING)
    assert item.user == c.member_email
    c.restore_item = item


def m_request_file_restore(c):
    item = c.m.GenericFilesApi.request_file_restore(str(c.file.id))
    assert isinstance(item, M.WorkItemView)
    assert (item.intellectual_object_id, item.generic_file_id) == (c.object.id, c.file.id)
    assert item.action in (M.WorkItemAction.RESTORE_FILE, M.WorkItemAction.GLACIER_RESTORE)
    assert item.status == M.WorkItemStatus.PENDING


def m_list_checksums(c):
    page = c.m.ChecksumsApi.list_checksums(generic_file_id=c.file.id, sort=["algorithm__asc"])
    assert isinstance(page, M.ChecksumViewList) and page.count >= 1
    assert all(
        isinstance(x, M.ChecksumView) and x.generic_file_id == c.file.id for x in page.results
    )
    algorithms = [x.algorithm.value for x in page.results]
    assert algorithms == sorted(algorithms)
    c.checksum = page.results[0]


def m_show_checksum(c):
    shown = c.m.ChecksumsApi.show_checksum(c.checksum.id)
    assert isinstance(shown, M.ChecksumView) and shown == c.checksum


def m_list_events(c):
    page = c.m.PremisEventsApi.list_events(
        intellectual_object_id=c.object.id, generic_file_id__is_null=True, per_page=50
    )
    assert isinstance(page, M.PremisEventViewList) and page.count >= 1
    assert all(
        isinstance(e, M.PremisEventView)
        and e.intellectual_object_id == c.object.id
        and e.generic_file_id is None
        for e in page.results
    )
    assert all(isinstance(e.event_type, M.EventType) for e in page.results)
    c.event = page.results[0]


def m_export_events(c):
    rows = exported(
        c.m.PremisEventsApi.export_events, M.PremisEventView, intellectual_object_id=c.object.id
    )
    assert c.event.id in [e.id for e in rows]


def m_show_event(c):
    by_id = c.m.PremisEventsApi.show_event(str(c.event.id))
    by_identifier = c.m.PremisEventsApi.show_event(str(c.event.identifier))
    assert isinstance(by_id, M.PremisEventView) and by_id == by_identifier == c.event


def m_list_items(c):
    page = c.m.WorkItemsApi.list_items(
        intellectual_object_id=c.object.id,
        status__in=[M.WorkItemStatus.PENDING],
        stage=M.WorkItemStage.REQUESTED,
        sort=["created_at__asc"],
    )
    assert isinstance(page, M.WorkItemViewList)
    assert c.restore_item.id in [w.id for w in page.results]
    created = [w.created_at for w in page.results]
    assert created == sorted(created)
    assert all(w.status == M.WorkItemStatus.PENDING for w in page.results)


def m_export_items(c):
    rows = exported(
        c.m.WorkItemsApi.export_items, M.WorkItemView, intellectual_object_id=c.object.id
    )
    assert c.restore_item.id in [w.id for w in rows]


def m_show_item(c):
    shown = c.m.WorkItemsApi.show_item(c.restore_item.id)
    assert isinstance(shown, M.WorkItemView) and shown == c.restore_item


def m_list_deletions(c):
    page = c.m.DeletionRequestsApi.list_deletions(sort=["requested_at__desc"])
    assert isinstance(page, M.DeletionRequestViewList) and page.count >= 1
    assert all(
        isinstance(d, M.DeletionRequestView) and d.institution_id == c.object.institution_id
        for d in page.results
    )
    c.deletion = page.results[0]


def m_show_deletion(c):
    shown = c.m.DeletionRequestsApi.show_deletion(c.deletion.id)
    assert isinstance(shown, M.DeletionRequestView) and shown.id == c.deletion.id
    assert shown.requested_at == c.deletion.requested_at


# The deletion flow, as example.edu's institutional admin (its only one, who may therefore
# approve their own requests), on the two last bags of the demo: no work item or request
# touches them.


def requested(c, response, kind: str) -> M.DeletionRequestView:
    """A 201 answer to a deletion request, checked; the request it filed."""
    made = response.data
    assert response.status_code == 201 and isinstance(made, M.DeletionRequestView)
    assert header(response, "Location") == f"/member-api/v3/deletions/show/{made.id}"
    assert made.status == M.DeletionStatus.AWAITING_APPROVAL
    assert (made.file_count, made.object_count) == ((1, 0) if kind == "file" else (0, 1))
    assert (made.requested_by_email, made.institution_identifier) == (
        c.inst_admin_email,
        "example.edu",
    )
    assert (made.confirmed_by_id, made.confirmed_at, made.cancelled_by_id) == (None, None, None)
    return made


def m_request_object_deletion(c):
    last_two = c.mi.IntellectualObjectsApi.list_objects(
        state=M.State.A, sort=["identifier__desc"], per_page=2
    )
    c.bag_to_delete, c.spared_bag = last_two.results
    assert_problem(
        M,
        M.exceptions.ForbiddenException,
        403,
        lambda: (  # not an admin
            c.m.DeletionRequestsApi.request_object_deletion(c.bag_to_delete.identifier)
        ),
    )
    response = c.mi.DeletionRequestsApi.request_object_deletion_with_http_info(
        c.bag_to_delete.identifier
    )
    c.object_request = requested(c, response, "object")
    again = assert_problem(
        M,
        M.exceptions.ConflictException,
        409,
        lambda: c.mi.DeletionRequestsApi.request_object_deletion(str(c.bag_to_delete.id)),
        model="ConflictProblem",
    )
    assert str(c.object_request.id) in again.detail
    # The request awaiting approval is named, so a client whose first answer was lost finds it.
    assert again.existing_id == c.object_request.id
    assert again.existing == f"/member-api/v3/deletions/show/{c.object_request.id}"


def m_request_file_deletion(c):
    files = c.mi.GenericFilesApi.list_files(
        intellectual_object_id=c.spared_bag.id, state=M.State.A, sort=["identifier__asc"]
    )
    c.spared_file = files.results[0]
    response = c.mi.DeletionRequestsApi.request_file_deletion_with_http_info(
        c.spared_file.identifier
    )
    c.file_request = requested(c, response, "file")
    shown = c.mi.DeletionRequestsApi.show_deletion(c.file_request.id)
    assert shown == c.file_request


def m_approve_deletion(c):
    request = c.object_request
    approved = c.mi.DeletionRequestsApi.approve_deletion(request.id)
    assert isinstance(approved, M.DeletionRequestView) and approved.id == request.id
    assert approved.status == M.DeletionStatus.APPROVED
    assert (approved.confirmed_by_email, approved.cancelled_by_id) == (c.inst_admin_email, None)
    assert isinstance(approved.confirmed_at, dt.datetime)
    assert approved.requested_at == request.requested_at
    # Approval queues one Delete work item for the object, for the deletion services.
    items = c.mi.WorkItemsApi.list_items(
        intellectual_object_id=c.bag_to_delete.id, action=M.WorkItemAction.DELETE
    )
    assert [
        (w.deletion_request_id, w.generic_file_id, w.stage, w.status, w.user, w.inst_approver)
        for w in items.results
    ] == [
        (
            request.id,
            None,
            M.WorkItemStage.REQUESTED,
            M.WorkItemStatus.PENDING,
            c.inst_admin_email,
            c.inst_admin_email,
        )
    ]
    assert_problem(
        M,
        M.exceptions.ConflictException,
        409,
        lambda: c.mi.DeletionRequestsApi.approve_deletion(request.id),
    )


def m_cancel_deletion(c):
    request = c.file_request
    cancelled = c.mi.DeletionRequestsApi.cancel_deletion(request.id)
    assert isinstance(cancelled, M.DeletionRequestView) and cancelled.id == request.id
    assert cancelled.status == M.DeletionStatus.REJECTED
    assert (cancelled.cancelled_by_email, cancelled.confirmed_by_id) == (c.inst_admin_email, None)
    assert isinstance(cancelled.cancelled_at, dt.datetime)
    assert_problem(
        M,
        M.exceptions.ConflictException,
        409,
        lambda: c.mi.DeletionRequestsApi.approve_deletion(request.id),
    )
    items = c.mi.WorkItemsApi.list_items(
        generic_file_id=c.spared_file.id, action=M.WorkItemAction.DELETE
    )
    assert items.count == 0  # nothing of a cancelled request is queued


def m_list_alerts(c):
    page = c.m.AlertsApi.list_alerts(per_page=3)
    assert isinstance(page, M.AlertViewList) and page.count >= 1
    assert all(isinstance(a, M.AlertView) and isinstance(a.type, M.AlertType) for a in page.results)
    c.alert = page.results[0]


def m_show_alert(c):
    shown = c.m.AlertsApi.show_alert(c.alert.id, c.alert.user_id)
    assert isinstance(shown, M.AlertView) and shown == c.alert


NO_ALERT = 2**62  # an id no alert has


def m_mark_alerts_read(c):
    result = c.m.AlertsApi.mark_alerts_read(
        M.AlertIds.from_dict({"id__in": [c.alert.id, NO_ALERT]})
    )
    assert isinstance(result, M.AlertReadResult)
    assert (result.succeeded, result.failed) == ([c.alert.id], [NO_ALERT])
    assert str(NO_ALERT) in result.error
    assert c.m.AlertsApi.show_alert(c.alert.id, c.alert.user_id).read_at is not None
    read = c.m.AlertsApi.list_alerts(read_at__not_null=True, sort=["read_at__desc"], per_page=1000)
    assert c.alert.id in [a.id for a in read.results]


def m_mark_alerts_unread(c):
    result = c.m.AlertsApi.mark_alerts_unread(M.AlertIds.from_dict({"id__in": [c.alert.id]}))
    assert isinstance(result, M.AlertReadResult)
    assert (result.succeeded, result.failed, result.error) == ([c.alert.id], [], None)
    assert c.m.AlertsApi.show_alert(c.alert.id, c.alert.user_id).read_at is None


def m_mark_all_alerts_read(c):
    result = c.m.AlertsApi.mark_all_alerts_read()
    assert isinstance(result, M.AlertReadResult)
    assert c.alert.id in result.succeeded and result.failed == []
    assert c.m.AlertsApi.list_alerts(read_at__is_null=True).count == 0


# -- member API: identity, last of the member steps (they end with the member's first key) -------
# What issue 18 asks of a member with only their first key: a read-only key for CI, a
# short-lived token used through the generated client, logout, and the first key revoked.


def m_show_me(c):
    me = c.m.IdentityApi.show_me()
    assert isinstance(me, M.Me) and me.email == c.member_email
    assert me.institution.identifier == "example.edu"
    assert (me.credential.type, me.credential.scope) == ("key", M.CredentialScope.READ_WRITE)
    c.first_prefix = me.credential.id


def m_create_key(c):
    until = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=30)
    made = c.m.IdentityApi.create_key(
        M.KeyCreate(label=f"CI {c.tag}", scope=M.CredentialScope.READ, expires_at=until)
    )
    assert isinstance(made, M.KeyIssued) and made.key.startswith(made.prefix)
    assert (made.scope, made.expires_at) == (M.CredentialScope.READ, until)
    ci = api_set(M, "member", BASE_URL, c.member_email, made.key)
    assert ci.IntellectualObjectsApi.list_objects(per_page=1).count > 0
    assert_problem(
        M, M.exceptions.ForbiddenException, 403, lambda: ci.AlertsApi.mark_all_alerts_read()
    )
    c.ci_prefix = made.prefix
    # A read_write key to take over from the first one (revoked in m_revoke_key).
    c.second = api_set(
        M,
        "member",
        BASE_URL,
        c.member_email,
        c.m.IdentityApi.create_key(M.KeyCreate(label=f"rotation {c.tag}")).key,
    )


def m_list_keys(c):
    page = c.m.IdentityApi.list_keys(revoked_at__is_null=True, sort=["created_at__asc"])
    assert isinstance(page, M.KeyViewList)
    prefixes = [k.prefix for k in page.results]
    assert {c.first_prefix, c.ci_prefix} <= set(prefixes)
    ci = next(k for k in page.results if k.prefix == c.ci_prefix)
    assert (ci.label, ci.scope, ci.revoked_at) == (f"CI {c.tag}", M.CredentialScope.READ, None)


def m_login(c):
    issued = c.m.IdentityApi.login()
    assert isinstance(issued, M.TokenIssued) and issued.token_type == "Bearer"
    assert issued.token.startswith(issued.token_id)
    c.t = token_api_set(M, "member", BASE_URL, issued.token)
    me = c.t.IdentityApi.show_me()
    assert (me.credential.type, me.credential.id) == ("token", issued.token_id)
    page = c.t.IntellectualObjectsApi.list_objects(per_page=2)
    assert page.count > 0 and {o.institution_identifier for o in page.results} == {"example.edu"}
    reader = c.m.IdentityApi.login(scope=M.CredentialScope.READ)
    assert reader.scope == M.CredentialScope.READ
    c.reader = token_api_set(M, "member", BASE_URL, reader.token)


def m_logout(c):
    out = c.t.IdentityApi.logout()
    assert isinstance(out, M.LogoutResult) and out.revoked == 1
    assert_problem(M, M.exceptions.UnauthorizedException, 401, lambda: c.t.IdentityApi.show_me())
    assert c.reader.IdentityApi.logout(all=True).revoked == 1  # the one left
    assert_problem(
        M, M.exceptions.UnauthorizedException, 401, lambda: c.reader.IdentityApi.show_me()
    )


def m_revoke_key(c):
    revoked = c.second.IdentityApi.revoke_key(c.first_prefix)
    assert isinstance(revoked, M.KeyRevoked) and revoked.revoked == 1
    assert_problem(M, M.exceptions.UnauthorizedException, 401, lambda: c.m.IdentityApi.show_me())
    assert c.second.IdentityApi.show_me().email == c.member_email


# -- admin API: the member reads, as a sysadmin ---------------------------------------------------


def a_list_institutions(c):
    page = c.a.InstitutionsApi.list_institutions(sort=["name__asc"], state=A.State.A)
    assert isinstance(page, A.InstitutionViewList) and page.count >= 5
    by_identifier = {i.identifier: i for i in page.results}
    assert {"aptrust.org", "example.edu", "library.example.edu"} <= set(by_identifier)
    assert by_identifier["library.example.edu"].type == "SubscriptionInstitution"
    c.example = by_identifier["example.edu"]
    members = c.a.InstitutionsApi.list_institutions(parent_id=c.example.id)
    assert [i.identifier for i in members.results] == ["library.example.edu"]


def a_show_institution(c):
    by_id = c.a.InstitutionsApi.show_institution(str(c.example.id))
    by_identifier = c.a.InstitutionsApi.show_institution("example.edu")
    assert isinstance(by_id, A.InstitutionView) and by_id == by_identifier == c.example


def a_list_objects(c):
    page = c.a.IntellectualObjectsApi.list_objects(
        institution_id=c.example.id,
        identifier__starts_with="example.edu/",
        per_page=4,
        sort=["identifier__desc"],
    )
    assert isinstance(page, A.IntellectualObjectViewList) and len(page.results) == 4
    assert page_of(page.next) == 2 and page.previous == ""
    identifiers = [o.identifier for o in page.results]
    assert identifiers == sorted(identifiers, reverse=True)
    c.admin_object = page.results[0]


def a_export_objects(c):
    rows = exported(
        c.a.IntellectualObjectsApi.export_objects,
        A.IntellectualObjectView,
        institution_id=c.example.id,
    )
    assert rows and {o.institution_id for o in rows} == {c.example.id}


def a_show_object(c):
    shown = c.a.IntellectualObjectsApi.show_object(c.admin_object.identifier)
    assert isinstance(shown, A.IntellectualObjectView) and shown == c.admin_object


def a_list_files(c):
    # Active files only: the demo's deleted ones have no storage records left.
    page = c.a.GenericFilesApi.list_files(
        institution_id=c.example.id,
        size__gteq=1,
        storage_option__in=[A.StorageOption.STANDARD, A.StorageOption.GLACIER_MINUS_OH],
        state=A.State.A,
        per_page=3,
    )
    assert isinstance(page, A.GenericFileViewList) and len(page.results) == 3
    assert all(
        f.size >= 1
        and f.storage_option in (A.StorageOption.STANDARD, A.StorageOption.GLACIER_MINUS_OH)
        and f.state == A.State.A
        for f in page.results
    )
    c.admin_file = page.results[0]


def a_export_files(c):
    rows = exported(c.a.GenericFilesApi.export_files, A.GenericFileView)
    assert rows


def a_show_file(c):
    shown = c.a.GenericFilesApi.show_file(c.admin_file.identifier)
    assert isinstance(shown, A.GenericFile) and shown.id == c.admin_file.id
    c.admin_file_detail = shown


def a_list_checksums(c):
    page = c.a.ChecksumsApi.list_checksums(
        intellectual_object_id=c.admin_file.intellectual_object_id,
        algorithm=A.ChecksumAlgorithm.SHA256,
    )
    assert isinstance(page, A.ChecksumViewList) and page.count >= 1
    assert all(
        x.algorithm == A.ChecksumAlgorithm.SHA256 and len(x.digest) == 64 for x in page.results
    )
    c.admin_checksum = page.results[0]


def a_show_checksum(c):
    assert c.a.ChecksumsApi.show_checksum(c.admin_checksum.id) == c.admin_checksum


def a_list_events(c):
    page = c.a.PremisEventsApi.list_events(
        institution_id=c.example.id, outcome=A.EventOutcome.SUCCESS, per_page=5
    )
    assert isinstance(page, A.PremisEventViewList) and len(page.results) == 5
    assert all(
        e.outcome == A.EventOutcome.SUCCESS and e.institution_id == c.example.id
        for e in page.results
    )
    c.admin_event = page.results[0]


def a_export_events(c):
    rows = exported(c.a.PremisEventsApi.export_events, A.PremisEventView, sort=["date_time__asc"])
    times = [e.date_time for e in rows]
    assert rows and times == sorted(times)


def a_show_event(c):
    assert c.a.PremisEventsApi.show_event(str(c.admin_event.identifier)) == c.admin_event


def a_list_items(c):
    page = c.a.WorkItemsApi.list_items(
        action=A.WorkItemAction.INGEST, institution_id=c.example.id, per_page=5
    )
    assert isinstance(page, A.WorkItemViewList) and page.count >= 1
    assert all(w.action == A.WorkItemAction.INGEST for w in page.results)
    c.admin_item = page.results[0]


def a_export_items(c):
    rows = exported(c.a.WorkItemsApi.export_items, A.WorkItemView, _headers={"Accept": "text/csv"})
    assert rows


def a_show_item(c):
    assert c.a.WorkItemsApi.show_item(c.admin_item.id) == c.admin_item


def a_list_deletions(c):
    page = c.a.DeletionRequestsApi.list_deletions()
    assert isinstance(page, A.DeletionRequestViewList) and page.count >= 1
    assert all(isinstance(d.status, A.DeletionStatus) for d in page.results)
    c.admin_deletion = page.results[0]


def a_show_deletion(c):
    assert c.a.DeletionRequestsApi.show_deletion(c.admin_deletion.id).id == c.admin_deletion.id


def a_list_alerts(c):
    page = c.a.AlertsApi.list_alerts(sort=["created_at__asc"])
    assert isinstance(page, A.AlertViewList) and page.count >= 1
    created = [a.created_at for a in page.results]
    assert created == sorted(created)
    c.admin_alert = page.results[0]


def a_show_alert(c):
    shown = c.a.AlertsApi.show_alert(c.admin_alert.id, c.admin_alert.user_id)
    assert shown == c.admin_alert


def a_list_storage_records(c):
    page = c.a.StorageRecordsApi.list_storage_records(generic_file_id=c.admin_file.id)
    assert isinstance(page, A.StorageRecordList) and page.count >= 1
    assert all(
        isinstance(r, A.StorageRecord) and r.generic_file_id == c.admin_file.id
        for r in page.results
    )
    c.storage_record = page.results[0]


def a_show_storage_record(c):
    assert c.a.StorageRecordsApi.show_storage_record(c.storage_record.id) == c.storage_record


def a_list_users(c):
    page = c.a.UsersApi.list_users(institution_id=c.example.id, role=A.UserRole.INSTITUTIONAL_USER)
    assert isinstance(page, A.UserViewList)
    assert c.member_email in [u.email for u in page.results]
    assert all(u.role == A.UserRole.INSTITUTIONAL_USER for u in page.results)
    c.demo_user = next(u for u in page.results if u.email == c.member_email)


def a_show_user(c):
    assert c.a.UsersApi.show_user(c.demo_user.id) == c.demo_user


# -- admin API: writes, on an institution of the test's own -------------------------------------


def a_create_institution(c):
    identifier = f"smoke-{c.tag}.example.org"
    made = c.a.InstitutionsApi.create_institution(
        A.InstitutionCreate(
            name=f"Smoke test {c.tag}", identifier=identifier, type="MemberInstitution"
        )
    )
    assert isinstance(made, A.InstitutionView)
    assert (made.identifier, made.state, made.otp_enabled) == (identifier, A.State.A, False)
    c.inst = made
    again = A.InstitutionCreate(
        name="Smoke test again", identifier=identifier, type="MemberInstitution"
    )
    assert_problem(
        A,
        A.exceptions.ConflictException,
        409,
        lambda: c.a.InstitutionsApi.create_institution(again),
    )


def a_update_institution(c):
    updated = c.a.InstitutionsApi.update_institution(
        c.inst.id,
        A.InstitutionUpdate(name=f"Smoke test {c.tag} renamed", spot_restore_frequency=90),
    )
    assert isinstance(updated, A.InstitutionView)
    assert (updated.name, updated.spot_restore_frequency) == (f"Smoke test {c.tag} renamed", 90)
    assert updated.identifier == c.inst.identifier


def a_create_user(c):
    email = f"depositor@smoke-{c.tag}.example.org"
    made = c.a.UsersApi.create_user(
        A.UserCreate(
            name="Dana Depositor",
            email=email,
            role=A.UserRole.INSTITUTIONAL_ADMIN,
            institution_id=c.inst.id,
        )
    )
    assert isinstance(made, A.UserView)
    assert (made.email, made.role, made.institution_id) == (
        email,
        A.UserRole.INSTITUTIONAL_ADMIN,
        c.inst.id,
    )
    c.user = made
    # A second admin, who stays active: the deletion steps file a request in their name.
    c.deleter = c.a.UsersApi.create_user(
        A.UserCreate(
            name="Dale Deleter",
            email=f"deleter@smoke-{c.tag}.example.org",
            role=A.UserRole.INSTITUTIONAL_ADMIN,
            institution_id=c.inst.id,
        )
    )


def a_issue_api_key(c):
    issued = c.a.UsersApi.issue_api_key(c.user.id)
    assert isinstance(issued, A.ApiKeyIssued) and issued.key.startswith(issued.prefix)
    assert re.fullmatch(r"rgk_[A-Za-z0-9_-]{43}", issued.key)
    c.key_prefix = issued.prefix
    second = c.a.UsersApi.issue_api_key(c.user.id)
    assert second.prefix != issued.prefix


def a_list_api_keys(c):
    page = c.a.UsersApi.list_api_keys(c.user.id, revoked_at__is_null=True)
    assert isinstance(page, A.KeyViewList) and page.count == 2
    assert c.key_prefix in [k.prefix for k in page.results]
    assert all(k.user_id == c.user.id and k.label is None for k in page.results)
    # The sysadmin's own token, made at the member API's login, on the admin API.
    login = api_set(M, "member", BASE_URL, c.admin_email, c.admin_key).IdentityApi.login()
    by_token = token_api_set(A, "admin", f"{BASE_URL}/admin-api/v3", login.token)
    assert by_token.UsersApi.list_api_keys(c.user.id, revoked_at__is_null=True) == page


def a_revoke_api_key(c):
    revoked = c.a.UsersApi.revoke_api_key(c.user.id, c.key_prefix)
    assert isinstance(revoked, A.ApiKeysRevoked) and (revoked.user_id, revoked.revoked) == (
        c.user.id,
        1,
    )


def a_revoke_api_keys(c):
    revoked = c.a.UsersApi.revoke_api_keys(c.user.id)
    assert isinstance(revoked, A.ApiKeysRevoked) and revoked.revoked == 1  # the second key


def a_disable_user(c):
    disabled = c.a.UsersApi.disable_user(c.user.id)
    assert isinstance(disabled, A.UserView) and disabled.id == c.user.id
    assert disabled.deactivated_at is not None


def object_body(c, bag: str) -> A.ObjectCreate:
    return A.ObjectCreate(
        title=f"Smoke bag {bag}",
        identifier=f"{c.inst.identifier}/{bag}",
        access=A.Access.INSTITUTION,
        storage_option=A.StorageOption.STANDARD,
        etag="9a0364b9e99bb480dd25e1f0284c8555",
        source_organization="Smoke test",
    )


def a_create_object(c):
    made = c.a.IntellectualObjectsApi.create_object(c.inst.id, object_body(c, "photos"))
    assert isinstance(made, A.IntellectualObjectView)
    assert (made.identifier, made.bag_name, made.institution_id, made.state) == (
        f"{c.inst.identifier}/photos",
        "photos",
        c.inst.id,
        A.State.A,
    )
    assert (made.file_count, made.size) == (0, 0)
    c.obj = made
    c.doomed = c.a.IntellectualObjectsApi.create_object(c.inst.id, object_body(c, "doomed"))


def a_update_object(c):
    body = A.ObjectUpdate(
        **{
            **object_body(c, "photos").to_dict(),
            "state": A.State.A,
            "title": "Smoke bag, retitled",
            "description": "Described",
        }
    )
    updated = c.a.IntellectualObjectsApi.update_object(c.obj.id, body)
    assert isinstance(updated, A.IntellectualObjectView) and updated.id == c.obj.id
    assert (updated.title, updated.description) == ("Smoke bag, retitled", "Described")


SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


def file_body(c, obj, name: str, **extra) -> A.FileCreate:
    return A.FileCreate(
        identifier=f"{obj.identifier}/data/{name}",
        intellectual_object_id=obj.id,
        file_format="text/plain",
        size=1024,
        uuid=str(uuid.uuid4()),
        **extra,
    )


def event_write(**extra) -> A.PremisEventWrite:
    return A.PremisEventWrite(
        identifier=str(uuid.uuid4()),
        event_type=A.EventType.INGESTION,
        date_time=NOW,
        outcome=A.EventOutcome.SUCCESS,
        agent="Smoke test",
        detail="Ingested",
        object="Smoke test",
        outcome_detail="ok",
        outcome_information="Ingested",
        **extra,
    )


def a_create_file(c):
    body = file_body(
        c,
        c.obj,
        "report.txt",
        checksums=[
            A.ChecksumWrite(algorithm=A.ChecksumAlgorithm.SHA256, datetime=NOW, digest=SHA256)
        ],
        premis_events=[event_write()],
        storage_records=[A.StorageRecordWrite(url=f"https://storage.example.org/va/{c.tag}")],
    )
    made = c.a.GenericFilesApi.create_file(c.inst.id, body)
    assert isinstance(made, A.GenericFile)
    assert (made.identifier, made.uuid, made.size, made.state) == (
        body.identifier,
        body.uuid,
        1024,
        A.State.A,
    )
    assert [(x.algorithm, x.digest) for x in made.checksums] == [
        (A.ChecksumAlgorithm.SHA256, SHA256)
    ]
    assert [e.identifier for e in made.premis_events] == [body.premis_events[0].identifier]
    assert [r.url for r in made.storage_records] == [f"https://storage.example.org/va/{c.tag}"]
    c.new_file = made


def a_create_file_batch(c):
    bodies = [file_body(c, c.obj, f"batch-{i}.txt") for i in range(3)]
    batch = c.a.GenericFilesApi.create_file_batch(c.inst.id, bodies)
    assert isinstance(batch, A.FileBatchCreated) and batch.count == 3
    assert all(isinstance(e, A.FileBatchEntry) for e in batch.results)
    assert [(e.identifier, e.uuid) for e in batch.results] == [
        (b.identifier, b.uuid) for b in bodies
    ]
    c.doomed_file = c.a.GenericFilesApi.create_file(c.inst.id, file_body(c, c.doomed, "x.txt"))


def a_update_file(c):
    stored = c.new_file
    body = A.FileUpdate(
        file_format="text/markdown",
        size=2048,
        uuid=stored.uuid,
        state=A.State.A,
        storage_option=stored.storage_option,
        last_fixity_check=NOW,
    )
    updated = c.a.GenericFilesApi.update_file(stored.id, body)
    assert isinstance(updated, A.GenericFile)
    assert (updated.id, updated.file_format, updated.size, updated.last_fixity_check) == (
        stored.id,
        "text/markdown",
        2048,
        NOW,
    )


def a_create_checksum(c):
    digest = "d41d8cd98f00b204e9800998ecf8427e"
    made = c.a.ChecksumsApi.create_checksum(
        c.inst.id,
        A.ChecksumCreate(
            algorithm=A.ChecksumAlgorithm.MD5,
            datetime=NOW,
            digest=digest,
            generic_file_id=c.new_file.id,
        ),
    )
    assert isinstance(made, A.ChecksumView)
    assert (made.algorithm, made.digest, made.generic_file_id) == (
        A.ChecksumAlgorithm.MD5,
        digest,
        c.new_file.id,
    )


def a_create_event(c):
    body = A.PremisEventCreate(
        **event_write().to_dict(),
        institution_id=c.inst.id,
        intellectual_object_id=c.obj.id,
        generic_file_id=c.new_file.id,
    )
    body.event_type = A.EventType.FIXITY_CHECK
    made = c.a.PremisEventsApi.create_event(body)
    assert isinstance(made, A.PremisEventView)
    assert (made.identifier, made.event_type, made.generic_file_id) == (
        body.identifier,
        A.EventType.FIXITY_CHECK,
        c.new_file.id,
    )
    # The doomed object's ingestion, which its deletion (a_delete_object) requires.
    ingested = c.a.PremisEventsApi.create_event(
        A.PremisEventCreate(
            **event_write().to_dict(), institution_id=c.inst.id, intellectual_object_id=c.doomed.id
        )
    )
    assert (ingested.event_type, ingested.intellectual_object_id, ingested.generic_file_id) == (
        A.EventType.INGESTION,
        c.doomed.id,
        None,
    )


def a_generate_failed_fixity_alerts(c):
    """A fixity check of the new file failed just now: the run alerts the institution's
    active admin; a second run finds nothing new."""
    failed = A.PremisEventCreate(
        **event_write().to_dict(),
        institution_id=c.inst.id,
        intellectual_object_id=c.obj.id,
        generic_file_id=c.new_file.id,
    )
    failed.event_type, failed.outcome = A.EventType.FIXITY_CHECK, A.EventOutcome.FAILURE
    failed.date_time = dt.datetime.now(dt.UTC)
    c.a.PremisEventsApi.create_event(failed)
    response = c.a.AlertsApi.generate_failed_fixity_alerts_with_http_info()
    run = response.data
    assert response.status_code == 201 and isinstance(run, A.FailedFixityRun)
    assert (run.next, run.previous) == ("", "")
    [mine] = [s for s in run.results if s.institution_id == c.inst.id]
    assert (mine.failures, mine.error) == (1, None)
    alerts = c.a.AlertsApi.list_alerts(
        institution_id=c.inst.id, type=A.AlertType.FAILED_FIXITY_CHECK
    )
    assert [a.user_email for a in alerts.results] == [c.deleter.email]
    again = c.a.AlertsApi.generate_failed_fixity_alerts_with_http_info()
    assert again.status_code == 200 and again.data.count == 0 and again.data.results == []


def a_create_storage_record(c):
    url = f"https://storage.example.org/or/{c.tag}"
    made = c.a.StorageRecordsApi.create_storage_record(
        c.inst.id, A.StorageRecordCreate(url=url, generic_file_id=c.new_file.id)
    )
    assert isinstance(made, A.StorageRecord)
    assert (made.url, made.generic_file_id) == (url, c.new_file.id)


def a_create_work_item(c):
    made = c.a.WorkItemsApi.create_work_item(
        c.inst.id,
        A.WorkItemCreate(
            name="photos.tar",
            etag="9a0364b9e99bb480dd25e1f0284c8555",
            bucket=f"aptrust.receiving.{c.inst.identifier}",
            user=c.user.email,
            action=A.WorkItemAction.INGEST,
            stage=A.WorkItemStage.RECEIVE,
            status=A.WorkItemStatus.PENDING,
            bag_date=NOW,
            date_processed=NOW,
            intellectual_object_id=c.obj.id,
            size=4096,
        ),
    )
    assert isinstance(made, A.WorkItemView)
    assert (made.name, made.stage, made.status, made.size, made.bag_date) == (
        "photos.tar",
        A.WorkItemStage.RECEIVE,
        A.WorkItemStatus.PENDING,
        4096,
        NOW,
    )
    c.item = made


def a_update_work_item(c):
    item = c.item
    updated = c.a.WorkItemsApi.update_work_item(
        item.id,
        A.WorkItemUpdate(
            bucket=item.bucket,
            user=item.user,
            stage=A.WorkItemStage.STORE,
            status=A.WorkItemStatus.SUCCESS,
            bag_date=item.bag_date,
            date_processed=NOW,
            note="Stored",
        ),
    )
    assert isinstance(updated, A.WorkItemView)
    assert (updated.stage, updated.status, updated.note) == (
        A.WorkItemStage.STORE,
        A.WorkItemStatus.SUCCESS,
        "Stored",
    )


def a_requeue_work_item(c):
    requeued = c.a.WorkItemsApi.requeue_work_item(
        c.item.id, A.WorkItemRequeue(stage=A.WorkItemStage.VALIDATE)
    )
    assert isinstance(requeued, A.WorkItemView)
    assert (requeued.stage, requeued.status) == (A.WorkItemStage.VALIDATE, A.WorkItemStatus.PENDING)
    finished = c.a.WorkItemsApi.update_work_item(
        c.item.id,
        A.WorkItemUpdate(
            bucket=c.item.bucket,
            user=c.item.user,
            stage=A.WorkItemStage.CLEANUP,
            status=A.WorkItemStatus.SUCCESS,
            bag_date=c.item.bag_date,
            date_processed=NOW,
        ),
    )
    assert finished.status == A.WorkItemStatus.SUCCESS


def a_init_object_restore(c):
    item = c.a.IntellectualObjectsApi.init_object_restore(c.obj.id)
    assert isinstance(item, A.WorkItemView)
    assert (item.intellectual_object_id, item.stage, item.status) == (
        c.obj.id,
        A.WorkItemStage.REQUESTED,
        A.WorkItemStatus.PENDING,
    )


def a_init_batch_delete(c):
    """A request for the doomed object, filed for the institution's active admin; then what
    the admin deletes need: its approval (member API, the requester being the only active
    admin) and the Delete work item the deletion services start."""
    body = A.BatchDeletion(
        institution_id=c.inst.id,
        requestor_id=c.deleter.id,
        object_ids=[c.doomed.id, c.doomed.id],
        secret_key=c.batch_key,
    )
    wrong = A.BatchDeletion(**{**body.to_dict(), "secretKey": uuid.uuid4()})
    refused = assert_problem(
        A,
        A.exceptions.UnprocessableEntityException,
        422,
        lambda: c.a.DeletionRequestsApi.init_batch_delete(wrong),
    )
    assert [e.name for e in refused.errors] == ["secretKey"]
    response = c.a.DeletionRequestsApi.init_batch_delete_with_http_info(body)
    made = response.data
    assert response.status_code == 201 and isinstance(made, A.DeletionRequestView)
    assert header(response, "Location") == f"/admin-api/v3/deletions/show/{made.id}"
    assert (made.status, made.institution_id, made.requested_by_email) == (
        A.DeletionStatus.AWAITING_APPROVAL,
        c.inst.id,
        c.deleter.email,
    )
    assert (made.object_count, made.file_count) == (1, 0)  # the repeated id counts once
    assert c.a.DeletionRequestsApi.show_deletion(made.id) == made

    key = c.a.UsersApi.issue_api_key(c.deleter.id).key
    deleter = api_set(M, "member", BASE_URL, c.deleter.email, key)
    approved = deleter.DeletionRequestsApi.approve_deletion(made.id)
    assert (approved.status, approved.confirmed_by_email) == (
        M.DeletionStatus.APPROVED,
        c.deleter.email,
    )
    [item] = c.a.WorkItemsApi.list_items(
        intellectual_object_id=c.doomed.id, action=A.WorkItemAction.DELETE
    ).results
    assert (item.deletion_request_id, item.inst_approver, item.status) == (
        made.id,
        c.deleter.email,
        A.WorkItemStatus.PENDING,
    )
    started = c.a.WorkItemsApi.update_work_item(
        item.id,
        A.WorkItemUpdate(
            bucket=item.bucket,
            user=item.user,
            stage=A.WorkItemStage.RESOLVE,
            status=A.WorkItemStatus.STARTED,
            bag_date=item.bag_date,
            date_processed=NOW,
            inst_approver=item.inst_approver,
            deletion_request_id=item.deletion_request_id,
            note="Deleting",
        ),
    )
    assert (started.action, started.status, started.deletion_request_id) == (
        A.WorkItemAction.DELETE,
        A.WorkItemStatus.STARTED,
        made.id,
    )
    c.delete_item = started


def a_delete_file(c):
    deleted = c.a.GenericFilesApi.delete_file(c.doomed_file.id)
    assert isinstance(deleted, A.GenericFile)
    assert (deleted.id, deleted.state, deleted.storage_records) == (c.doomed_file.id, A.State.D, [])
    [event] = [e for e in deleted.premis_events if e.event_type == A.EventType.DELETION]
    assert (event.outcome, event.outcome_detail) == (A.EventOutcome.SUCCESS, c.deleter.email)
    again = assert_problem(
        A,
        A.exceptions.ConflictException,
        409,
        lambda: c.a.GenericFilesApi.delete_file(c.doomed_file.id),
    )
    assert "deleted already" in again.detail


def a_delete_object(c):
    # The object that was never asked to be deleted is refused, naming the missing rule.
    refused = assert_problem(
        A,
        A.exceptions.ConflictException,
        409,
        lambda: c.a.IntellectualObjectsApi.delete_object(c.obj.id),
    )
    assert refused.errors[0].name == "id"
    deleted = c.a.IntellectualObjectsApi.delete_object(c.doomed.id)
    assert isinstance(deleted, A.IntellectualObjectView)
    assert (deleted.id, deleted.state) == (c.doomed.id, A.State.D)
    events = c.a.PremisEventsApi.list_events(
        intellectual_object_id=c.doomed.id,
        generic_file_id__is_null=True,
        event_type=A.EventType.DELETION,
    )
    assert [e.outcome_detail for e in events.results] == [c.deleter.email]


def a_deactivate_institution(c):
    deactivated = c.a.InstitutionsApi.deactivate_institution(c.inst.id)
    assert isinstance(deactivated, A.InstitutionView)
    assert (deactivated.id, deactivated.state) == (c.inst.id, A.State.D)
    assert deactivated.deactivated_at is not None


# -- the table ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    api: str
    operation_id: str
    run: Callable[[Any], None] = field(repr=False)


def steps(api: str, prefix: str) -> list[Step]:
    """Every function named `<prefix><operationId>` above, in source order."""
    return [
        Step(api, name.removeprefix(prefix), fn)
        for name, fn in list(globals().items())
        if name.startswith(prefix) and callable(fn)
    ]


STEPS = steps("member", "m_") + steps("admin", "a_")


@pytest.mark.parametrize("step", STEPS, ids=lambda s: f"{s.api}:{s.operation_id}")
def test_operation(ctx, step):
    assert step.operation_id in OPERATIONS[step.api].values(), (
        f"the served {step.api} spec has no operation {step.operation_id}"
    )
    STEP_CALLS.clear()
    step.run(ctx)
    assert step.operation_id in STEP_CALLS, (
        f"{step.operation_id} was not answered 2xx through the generated client"
    )


@pytest.mark.parametrize("api", sorted(SPEC_URLS))
def test_every_served_operation_was_called(api):
    """Runs last: an operation of the served spec that no step called fails here."""
    missing = sorted(set(OPERATIONS[api].values()) - CALLED[api])
    assert not missing, (
        f"operations of the {api} spec not called through the generated "
        f"client (add a step `{api[0]}_<operationId>` to "
        f"clients/test_generated_clients.py): {missing}"
    )
