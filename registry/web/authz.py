"""Authorization, declared per operationId in one table and enforced in one place.

The resolver wraps every handler with a check of the caller's role against this table. An
operation of the spec that has no entry here stops the app at start-up: nothing is reachable
by omission (fail closed). Institution scoping is the data layer's job (`Listing`), not this
table's: a role that may read objects still sees only its own institution's objects.

A credential's scope (models/caller.py) is checked in the same place: a `read` key, or a token
made by one, may call only the operations in READ_SCOPE; every other operation, including any
added later without an entry there, answers it 403 (fail closed too).
"""

from __future__ import annotations

import inspect

from connexion.context import request as current_request
from connexion.context import scope as current_scope
from connexion.resolver import Resolution, Resolver
from starlette.datastructures import QueryParams

from models.caller import READ_WRITE, Caller
from models.errors import Forbidden
from registry.web.binding import RequestTarget, parsed_body

SYSADMIN = frozenset({"admin"})
MEMBERS = frozenset({"admin", "institutional_admin", "institutional_user"})
INSTITUTIONAL_ADMINS = frozenset({"institutional_admin"})

PERMISSIONS: dict[str, frozenset[str]] = {
    "list_objects": MEMBERS,
    "export_objects": MEMBERS,
    "show_object": MEMBERS,
    "list_files": MEMBERS,
    "export_files": MEMBERS,
    "show_file": MEMBERS,
    "list_checksums": MEMBERS,
    "show_checksum": MEMBERS,
    "list_events": MEMBERS,
    "export_events": MEMBERS,
    "show_event": MEMBERS,
    "list_items": MEMBERS,
    "export_items": MEMBERS,
    "show_item": MEMBERS,
    "list_deletions": MEMBERS,
    "show_deletion": MEMBERS,
    "list_alerts": MEMBERS,
    "show_alert": MEMBERS,
    # Every role that reads alerts marks its own copies (the reference's AlertUpdate); the
    # data layer touches only the caller's own alerts_users rows.
    "mark_alerts_read": MEMBERS,
    "mark_alerts_unread": MEMBERS,
    "mark_all_alerts_read": MEMBERS,
    # Every role of the owning institution may ask for a restore (scoping is the data layer's).
    "request_object_restore": MEMBERS,
    "request_file_restore": MEMBERS,
    # The deletion flow: institutional admins only, of the record's own institution (checked
    # by the data layer, 403 otherwise). Sysadmins may not approve a member's deletion: the
    # reference denies them DeletionRequestApprove, and we deny them the whole member flow.
    "request_object_deletion": INSTITUTIONAL_ADMINS,
    "request_file_deletion": INSTITUTIONAL_ADMINS,
    "approve_deletion": INSTITUTIONAL_ADMINS,
    "cancel_deletion": INSTITUTIONAL_ADMINS,
    # Admin API only (its security scheme already refuses every role but sysadmin).
    "list_institutions": SYSADMIN,
    "show_institution": SYSADMIN,
    "list_storage_records": SYSADMIN,
    "show_storage_record": SYSADMIN,
    # Admin writes: institutions, users and API keys.
    "create_institution": SYSADMIN,
    "update_institution": SYSADMIN,
    "deactivate_institution": SYSADMIN,
    "list_users": SYSADMIN,
    "show_user": SYSADMIN,
    "create_user": SYSADMIN,
    "disable_user": SYSADMIN,
    "issue_api_key": SYSADMIN,
    "revoke_api_key": SYSADMIN,
    "revoke_api_keys": SYSADMIN,
    # Admin writes: intellectual objects and work items.
    "create_object": SYSADMIN,
    "update_object": SYSADMIN,
    "delete_object": SYSADMIN,
    "init_object_restore": SYSADMIN,
    "init_batch_delete": SYSADMIN,
    "create_work_item": SYSADMIN,
    "update_work_item": SYSADMIN,
    "requeue_work_item": SYSADMIN,
    "generate_failed_fixity_alerts": SYSADMIN,
    # Admin writes: files, checksums, PREMIS events, storage records.
    "create_file": SYSADMIN,
    "create_file_batch": SYSADMIN,
    "update_file": SYSADMIN,
    "delete_file": SYSADMIN,
    "create_checksum": SYSADMIN,
    "create_event": SYSADMIN,
    "create_storage_record": SYSADMIN,
    # Identity (member API): every member reads who they are, manages their own keys, and
    # logs in and out; the data layer touches only the caller's own keys and tokens.
    "show_me": MEMBERS,
    "list_keys": MEMBERS,
    "create_key": MEMBERS,
    "revoke_key": MEMBERS,
    "login": MEMBERS,
    "logout": MEMBERS,
    # Identity (admin API): anyone's keys (issue and revoke are above).
    "list_api_keys": SYSADMIN,
}

# What a `read` credential may call: the reads, and logging in and out (a read key's token is
# a read token; logging out only ends a token). Not listed: needs a `read_write` credential.
READ_SCOPE: frozenset[str] = frozenset(
    {
        "list_objects",
        "export_objects",
        "show_object",
        "list_files",
        "export_files",
        "show_file",
        "list_checksums",
        "show_checksum",
        "list_events",
        "export_events",
        "show_event",
        "list_items",
        "export_items",
        "show_item",
        "list_deletions",
        "show_deletion",
        "list_alerts",
        "show_alert",
        "list_institutions",
        "show_institution",
        "list_storage_records",
        "show_storage_record",
        "list_users",
        "show_user",
        "list_api_keys",
        "show_me",
        "list_keys",
        "login",
        "logout",
    }
)


# Handler parameters this module supplies itself; Connexion never sees them.
BOUND_HERE = ("target", "parsed_body", "settings")


class UndeclaredOperation(LookupError):
    """An operation of the spec has no entry in PERMISSIONS."""


def caller_from(token_info: dict | None) -> Caller:
    """The caller the security function found: under the key scheme's name when the key
    headers authenticated (two schemes together), at the top for a bearer token (one)."""
    if "caller" in token_info:
        return token_info["caller"]
    return token_info["apiKey"]["caller"]


def _takes_user_param(operation) -> bool:
    return any(p["name"] == "user" and p["in"] == "query" for p in operation.parameters)


def guard(operation_id: str, handler, allowed: frozenset[str], operation=None, settings=None):
    """The handler, callable only by the roles in `allowed`; it receives the caller first, the
    request target (registry/web/binding.py) if it takes a `target`, and the app's settings if it
    takes `settings` (passed as data: no handler module is configured by the factory).

    `endpoint(**kwargs)` is what Connexion's chain calls (the target read from its request
    context); `endpoint.bound(target, kwargs)` is the binding itself, which the fast reads call
    with the target of the request they answer."""

    takes_user = None  # whether the operation has a `user` query parameter: read once
    takes_target = "target" in inspect.signature(handler).parameters
    takes_body = "parsed_body" in inspect.signature(handler).parameters
    takes_settings = "settings" in inspect.signature(handler).parameters
    read_scope = operation_id in READ_SCOPE

    async def bound(target: RequestTarget, kwargs: dict):
        nonlocal takes_user
        caller = caller_from(kwargs.pop("token_info", None))
        # Connexion passes its context entry `user` (the auth subject) under the same name as
        # the work items' `user` query filter, overwriting it: take the filter from the query.
        kwargs.pop("user", None)
        if takes_user is None:
            takes_user = operation is not None and _takes_user_param(operation)
        if takes_user:
            # As registry/web/uri_parser.py reads every filter: the first value; empty, ignored.
            values = QueryParams(target.query_string).getlist("user")
            if values and values[0] != "":
                kwargs["user"] = values[0]
        if caller.role not in allowed:
            raise Forbidden(f"Your role ({caller.role}) may not use {operation_id}")
        if caller.scope != READ_WRITE and not read_scope:
            raise Forbidden(
                f"This {caller.credential_kind or 'credential'} has the scope {caller.scope}: "
                f"{operation_id} needs a {READ_WRITE} key or token"
            )
        if takes_target:
            kwargs["target"] = target
        if takes_settings:
            kwargs["settings"] = settings
        return await handler(caller, **kwargs)

    async def endpoint(**kwargs):
        if takes_body:
            kwargs["parsed_body"] = await parsed_body(current_request)
        return await bound(RequestTarget.of(current_scope), kwargs)

    endpoint.bound = bound
    endpoint.__name__ = operation_id
    endpoint.__qualname__ = operation_id
    endpoint.__signature__ = _signature(handler)
    return endpoint


def _signature(handler) -> inspect.Signature:
    """What Connexion should pass the endpoint: the handler's own parameters after `caller`,
    plus the context entries the endpoint takes. Connexion reads it to decide what to supply;
    with a bare **kwargs it would parse a JSON body (again) even for a handler that reads the
    body the validator parsed (registry.web.binding.parsed_body)."""
    own = [
        p
        for p in list(inspect.signature(handler).parameters.values())[1:]
        if p.name not in BOUND_HERE
    ]
    if any(p.kind is p.VAR_KEYWORD for p in own):
        return inspect.Signature(
            [
                p.replace(kind=inspect.Parameter.KEYWORD_ONLY) if p.kind is not p.VAR_KEYWORD else p
                for p in own
            ]
        )
    names = {p.name for p in own}
    context = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None)
        for name in ("token_info", "user")
        if name not in names
    ]
    return inspect.Signature(
        [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + context
    )


class AuthorizingResolver(Resolver):
    """Resolves each operationId to its guarded handler, handing handlers the app's settings."""

    def __init__(self, settings=None):
        super().__init__()
        self.settings = settings

    def resolve(self, operation):
        operation_id = operation.operation_id
        allowed = PERMISSIONS.get(operation_id)
        if allowed is None:
            raise UndeclaredOperation(
                f"operation {operation_id!r} has no entry in registry.web.authz.PERMISSIONS"
            )
        handler = self.resolve_function_from_operation_id(self.resolve_operation_id(operation))
        return Resolution(
            guard(operation_id, handler, allowed, operation, self.settings), operation_id
        )
