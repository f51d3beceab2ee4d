"""Schemathesis hooks of the live admin run (loaded by schemathesis.toml's `hooks`).

1. Keep the run signed in. The admin run writes to the live server as a sysadmin of its own
   (contract-admin@aptrust.org, created by run.sh). A few operations take access away for good:
   deactivate_institution (no user of the institution authenticates any more), disable_user and
   revoke_api_keys / revoke_api_key (the user's keys stop working), update_institution when it
   changes `type` or `member_institution_id` (the institution stops being the operator's).
   Aimed at the run's own sysadmin or institution aptrust.org, such a call would turn every
   later request of the run into a 401, and the rest of the run would test nothing.
   So, for those operations only, a path `id` that names the sysadmin or its institution is
   swapped, just before the request is sent, for a stand-in (a real institution nobody signs
   in from, and one real user of it per operation; prepare.py `guard` creates them, the same
   as contract_tests/admin_guard.py does for the in-process run). The call still happens and
   still gets checked, on the stand-in. Every other id (the spec's examples, which name other
   demo users and institutions, and every fuzzed id) goes out as generated, and invalid ids
   (0, -1, `abc`) are never swapped. The ids come from the file in CONTRACT_GUARD.

2. Cross-tenant reads (member run). Schemathesis's `object_level_authorization` replays a
   read as the peer only for ids it can prove the member owns (drawn from the member's own
   earlier responses, and absent from the peer's copy of the list), so it probes few requests.
   `cross_tenant_read` adds a plainer probe: a member's successful GET, sent again as the peer
   (a user of another institution), must not return the member's records: a show answers
   403/404, a list answers 403/404 or shares no record `id` with the member's answer.
   Each distinct request is
   replayed once with the peer's key headers and once with the peer's bearer token (from
   POST /member-api/v3/login), at most PROBES_PER_OPERATION per operation; each replay is
   logged to CONTRACT_PROBE_LOG, and run.sh fails the run when there were none.

3. Registry rules. Admin writes validate against the spec and against registry rules that
   JSON Schema cannot state (a member institution with a parent, role `admin` outside
   aptrust.org, a body `institution_id` other than the path's, an identifier that must not
   change). Schema-valid data that breaks such a rule gets a 4xx problem naming the fields;
   `positive_data_acceptance` would count it a failure. As in-process
   (admin_guard.accept_rule_rejections), exactly those failures are dropped: writes only, a
   400 or 422 that the operation documents, with a problem whose `errors` all name a field.
   Reads stay strict and every other check still runs on those responses.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import jsonschema
import requests
import schemathesis
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.openapi.checks import RejectedPositiveData

# The repository, for contract_tests.list_hooks (the CLI loads this file by path).
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from contract_tests import list_hooks  # noqa: E402, F401 - registers its hooks
from registry.spec import follow_refs, query_value  # noqa: E402

ADMIN_PREFIX = "/admin-api/"
MEMBER_PREFIX = "/member-api/"
PROBES_PER_OPERATION = 25
_RESTRUCTURING_FIELDS = ("type", "member_institution_id")
_RULE_STATUSES = (400, 422)


def _load_guard() -> dict | None:
    path = os.environ.get("CONTRACT_GUARD")
    if not path:
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


GUARD = _load_guard()


def _as_id(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


@schemathesis.hook("before_call")
def keep_the_run_signed_in(context, case, kwargs):
    if GUARD is None or not case.operation.full_path.startswith(ADMIN_PREFIX):
        return
    operation_id = case.operation.definition.raw.get("operationId")
    kind = GUARD["operations"].get(operation_id)
    if kind is None or not case.path_parameters:
        return
    if operation_id == "update_institution" and not (
        isinstance(case.body, dict) and any(name in case.body for name in _RESTRUCTURING_FIELDS)
    ):
        return
    if _as_id(case.path_parameters.get("id")) in GUARD["protected"][kind]:
        stand_in = (
            GUARD["stand_ins"]["institution"]
            if kind == "institution"
            else (GUARD["stand_ins"]["user"][operation_id])
        )
        case.path_parameters = {**case.path_parameters, "id": stand_in}


@schemathesis.hook("filter_failure")
def rule_rejection_is_not_a_failure(context, failure, case, response):
    if not (
        isinstance(failure, RejectedPositiveData)
        and case.method.upper() != "GET"
        and (
            (
                case.operation.full_path.startswith(ADMIN_PREFIX)
                and response.status_code in _RULE_STATUSES
            )
            # The member API's one rule beyond its schema: POST /keys, expires_at in the past.
            or (case.operation.full_path.startswith(MEMBER_PREFIX) and response.status_code == 422)
        )
        and str(response.status_code) in case.operation.definition.raw.get("responses", {})
    ):
        return True
    try:
        errors = response.json().get("errors")
    except Exception:  # noqa: BLE001 - not a problem document: keep the failure
        return True
    return not (
        isinstance(errors, list)
        and errors
        and all(isinstance(e, dict) and e.get("name") for e in errors)
    )


@schemathesis.hook("filter_failure")
def negative_case_sent_valid_is_not_a_failure(context, failure, case, response):
    """Schemathesis's negative case that went out valid is no failure of the server.

    Two of its ways to make a member request "negative" undo themselves on the wire: leaving
    out the key headers, which the run's own auth (schemathesis.toml, `auth.wfc`) then adds;
    and a number or boolean for a text filter, which the query string turns into text that
    the filter accepts (`intellectual_object_identifier=1.5e+221`). The server answers such a
    request 200, rightly. So a ST201 is dropped only when the request as sent carried both
    key headers and every query value it sent, read as the server reads it, fits its
    parameter's schema; any other accepted negative request still fails the run.
    """
    if not isinstance(failure, AcceptedNegativeData):
        return True
    sent = response.request
    if not (sent.headers.get("X-Pharos-API-User") and sent.headers.get("X-Pharos-API-Key")):
        return True
    return not _query_as_sent_is_valid(case, sent.url)


def _query_as_sent_is_valid(case, url: str) -> bool:
    document = case.operation.schema.raw_schema
    declared = {}
    for parameter in case.operation.definition.raw.get("parameters", []):
        if "$ref" in parameter:
            parameter = document["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
        if parameter.get("in") == "query":
            declared[parameter["name"]] = parameter
    sent: dict[str, list[str]] = {}
    for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        sent.setdefault(name, []).append(value)
    if any(p.get("required") and name not in sent for name, p in declared.items()):
        return False
    for name, values in sent.items():
        parameter = declared.get(name)
        if parameter is None:
            return False
        schema = follow_refs(document, parameter.get("schema", {}))
        if schema.get("type") != "array" and len(values) > 1:
            values = values[:1]  # the server reads a repeated filter's first value
        if schema.get("type") == "array":
            candidates = [[query_value(v, follow_refs(document, schema["items"])) for v in values]]
        else:
            candidates = [query_value(values[0], schema)]
        if values == [""] and parameter.get("allowEmptyValue"):
            continue
        if not all(_fits(document, schema, c) for c in candidates):
            return False
    return True


def _fits(document: dict, schema: dict, value) -> bool:
    validator = jsonschema.Draft4Validator(
        {**schema, "components": document.get("components", {})},
        format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER,
    )
    return validator.is_valid(value)


_probed: set[str] = set()
_probes_per_operation: Counter = Counter()


def _peer_headers() -> dict | None:
    email, key = os.environ.get("CONTRACT_PEER_EMAIL"), os.environ.get("CONTRACT_PEER_KEY")
    if not (email and key):
        return None
    return {"X-Pharos-API-User": email, "X-Pharos-API-Key": key}


def _rows_of(text: str, headers) -> dict:
    """A list's answer as `{"results": rows}`: JSON, or an export's NDJSON lines (CSV has no
    ids to compare and counts as no rows)."""
    content_type = headers.get("content-type") or headers.get("Content-Type") or ""
    if isinstance(content_type, list):
        content_type = content_type[0] if content_type else ""
    if content_type.startswith("application/x-ndjson"):
        return {"results": [json.loads(line) for line in text.splitlines() if line]}
    if content_type.startswith("text/csv"):
        return {"results": []}
    return json.loads(text)


_peer_token: list[str] = []


def _peer_token_headers(base_url: str, peer: dict) -> dict:
    """The peer's bearer token (POST /member-api/v3/login with its key, once per run): every
    replay is sent with the key headers and again with the token, which must not read the
    member's records either."""
    if not _peer_token:
        answer = requests.post(f"{base_url}{MEMBER_PREFIX}v3/login", headers=peer, timeout=15)
        answer.raise_for_status()
        _peer_token.append(answer.json()["token"])
    return {"Authorization": f"Bearer {_peer_token[0]}"}


def _ids(body) -> set:
    results = body.get("results") if isinstance(body, dict) else None
    return {item.get("id") for item in results or [] if isinstance(item, dict)} - {None}


@schemathesis.check
def cross_tenant_read(ctx, response, case):
    """A member's successful read, replayed as a user of another institution, finds nothing."""
    peer = _peer_headers()
    request = response.request
    if (
        peer is None
        or request.method != "GET"
        or not 200 <= response.status_code < 300
        or not urlsplit(request.url).path.startswith(MEMBER_PREFIX)
        or request.headers.get("X-Pharos-API-User") == peer["X-Pharos-API-User"]
    ):
        return None
    label = case.operation.label
    if request.url in _probed or _probes_per_operation[label] >= PROBES_PER_OPERATION:
        return None
    _probed.add(request.url)
    _probes_per_operation[label] += 1
    parts = urlsplit(request.url)
    token = _peer_token_headers(f"{parts.scheme}://{parts.netloc}", peer)
    for how, headers in (("", peer), (" (token)", token)):
        replay = requests.get(request.url, headers=headers, timeout=15)
        log = os.environ.get("CONTRACT_PROBE_LOG")
        if log:
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(f"{label}{how}\t{replay.status_code}\n")
        who = f"{peer['X-Pharos-API-User']}{how}"
        if "/show/" in case.operation.path:
            if replay.status_code not in (403, 404):
                raise AssertionError(
                    f"{who} read {request.url} (the member's record) and got "
                    f"{replay.status_code}, not 403/404"
                )
            continue
        if replay.status_code in (403, 404):
            continue
        assert replay.status_code == 200, f"{who}'s replay of {request.url}: {replay.status_code}"
        shared = _ids(_rows_of(response.text, response.headers)) & _ids(
            _rows_of(replay.text, replay.headers)
        )
        if shared:
            raise AssertionError(
                f"{who} listed records {sorted(shared)} of the member's answer to {request.url}"
            )
    return None
