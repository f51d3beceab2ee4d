"""The permission table and the spec list the same operations, and a gap fails closed.

Authorization is declared per operationId in registry.web.authz.PERMISSIONS. If an operation could
be added to the spec without a table entry and still be served, it would be reachable by
omission; the resolver must refuse to start instead.
"""

from __future__ import annotations

from types import SimpleNamespace

import connexion
import pytest

from models.enums import ROLES
from registry.spec import ADMIN_SPEC, MEMBER_SPEC, load_spec, operation_ids
from registry.web.authz import PERMISSIONS, READ_SCOPE, AuthorizingResolver, UndeclaredOperation


@pytest.mark.parametrize("spec", [MEMBER_SPEC, ADMIN_SPEC], ids=["member", "admin"])
def test_operation_ids_are_unique_per_spec(spec):
    ids = operation_ids(load_spec(spec))
    assert len(ids) == len(set(ids)), "duplicate operationId in the spec"


def test_every_spec_operation_has_a_permission_entry_and_vice_versa():
    in_spec = operation_ids(load_spec(MEMBER_SPEC)) + operation_ids(load_spec(ADMIN_SPEC))
    assert set(in_spec) - set(PERMISSIONS) == set(), "operations without a permission entry"
    assert set(PERMISSIONS) - set(in_spec) == set(), "permission entries for no operation"


@pytest.mark.parametrize("operation_id", sorted(PERMISSIONS))
def test_permissions_name_real_roles_and_never_role_none(operation_id):
    allowed = PERMISSIONS[operation_id]
    assert allowed, f"{operation_id} is allowed to nobody"
    assert allowed <= set(ROLES)
    assert "none" not in allowed


def _operation(operation_id: str) -> SimpleNamespace:
    return SimpleNamespace(operation_id=operation_id, router_controller="handlers.objects")


def test_resolver_refuses_an_operation_missing_from_the_table():
    with pytest.raises(UndeclaredOperation, match="secret_export"):
        AuthorizingResolver().resolve(_operation("secret_export"))


def test_resolver_refuses_an_operation_removed_from_the_table(monkeypatch):
    monkeypatch.delitem(PERMISSIONS, "list_objects")
    with pytest.raises(UndeclaredOperation, match="list_objects"):
        AuthorizingResolver().resolve(_operation("list_objects"))


def _small_spec(operation_id: str) -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "authz probe", "version": "1"},
        "paths": {
            "/probe": {
                "get": {
                    "operationId": operation_id,
                    "x-openapi-router-controller": "handlers.objects",
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
    }


def _start(spec: dict) -> None:
    app = connexion.AsyncApp(__name__)
    app.add_api(spec, resolver=AuthorizingResolver())
    with app.test_client():  # runs start-up, where Connexion resolves every operation
        pass


def test_app_with_a_declared_operation_starts():
    _start(_small_spec("list_objects"))


def test_app_with_an_undeclared_operation_does_not_start(monkeypatch):
    monkeypatch.delitem(PERMISSIONS, "list_objects")
    with pytest.raises(UndeclaredOperation):
        _start(_small_spec("list_objects"))


def _methods_by_operation() -> dict[str, str]:
    return {
        op["operationId"]: method
        for spec in (MEMBER_SPEC, ADMIN_SPEC)
        for item in load_spec(spec)["paths"].values()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }


def test_read_scope_is_every_read_and_logging_in_and_out():
    """What a `read` key or token may call (registry.web.authz.READ_SCOPE): every GET of both
    specs, and login and logout, which write only the caller's own tokens. Every other
    operation refuses it: a write added later is refused until it is declared here."""
    methods = _methods_by_operation()
    assert READ_SCOPE <= set(PERMISSIONS)
    assert {op for op, method in methods.items() if method == "get"} <= READ_SCOPE
    assert {op for op in READ_SCOPE if methods[op] != "get"} == {"login", "logout"}


def test_a_read_credential_is_refused_by_an_operation_outside_read_scope():
    import asyncio

    from models.caller import Caller
    from models.errors import Forbidden
    from registry.web.authz import guard

    async def handler(caller):
        return "done"

    reader = Caller(
        1, "r@example.edu", "institutional_user", 2, scope="read", credential_kind="key"
    )
    writer = Caller(1, "r@example.edu", "institutional_user", 2)
    members = PERMISSIONS["mark_all_alerts_read"]
    for operation_id, expected in (("list_objects", "done"), ("mark_all_alerts_read", None)):
        endpoint = guard(operation_id, handler, members)
        call = endpoint.bound(None, {"token_info": {"caller": reader}})
        if expected is None:
            with pytest.raises(Forbidden, match="scope read"):
                asyncio.run(call)
        else:
            assert asyncio.run(call) == expected
        assert asyncio.run(endpoint.bound(None, {"token_info": {"caller": writer}})) == "done"
