"""One convention each, read from the source.

- Writes: a handler runs `run_write(write, caller, ...)`, and the write function takes the
  caller first and returns the view the API answers (a dict, or a list of them), never an id
  for the handler to read back.
- Listings: each is built by a factory named as models.storage.query.Listing's docstring says.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil

import handlers
import models
from models.storage.query import Listing


def _writes():
    """(handler module, call text, the function it runs) for each run_write call in handlers/."""
    for info in pkgutil.iter_modules(handlers.__path__):
        module = importlib.import_module(f"handlers.{info.name}")
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "run_write"
            ):
                function = eval(ast.unparse(node.args[0]), vars(module))  # noqa: S307
                yield info.name, node, function


WRITES = list(_writes())


def test_the_write_calls_are_found():
    """The control of the tests below: every admin and member write of the handlers."""
    names = {function.__name__ for _, _, function in WRITES}
    assert len(names) >= 25
    assert {
        "create_institution",
        "disable_user",
        "issue_api_key",
        "restore_object",
        "generate_failed_fixity_alerts",
        "mark_alerts",
    } <= names


def test_every_handler_passes_its_caller_to_the_write():
    passed = {
        (name, ast.unparse(call))
        for name, call, _ in WRITES
        if len(call.args) < 2 or ast.unparse(call.args[1]) != "caller"
    }
    assert passed == set()


def test_every_write_function_takes_the_caller_first_and_returns_the_view():
    for _, _, function in WRITES:
        assert function.__module__.startswith("models."), function
        parameters = list(inspect.signature(function).parameters)
        assert parameters[:1] == ["caller"], (function.__module__, function.__name__)
        assert function.__annotations__.get("return") in ("dict", "list[dict]"), (
            function.__module__,
            function.__name__,
        )


def _listing_assignments():
    """(module, constant, factory called) for each module-level `NAME = factory()` of models/
    that makes a Listing, and every Listing object any models module holds."""
    assigned, held = [], {}
    for info in pkgutil.iter_modules(models.__path__):
        module = importlib.import_module(f"models.{info.name}")
        held.update(
            {id(v): f"{info.name}.{k}" for k, v in vars(module).items() if isinstance(v, Listing)}
        )
        for node in ast.parse(inspect.getsource(module)).body:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name) and isinstance(
                        vars(module).get(target.id), Listing
                    ):
                        factory = (
                            node.value.func.id
                            if isinstance(node.value, ast.Call)
                            and isinstance(node.value.func, ast.Name)
                            else None
                        )
                        assigned.append((module, target.id, factory))
    return assigned, held


def test_every_listing_is_built_by_a_view_or_records_factory():
    assigned, held = _listing_assignments()
    assert len(assigned) >= 13  # the control: every listing of the models
    assert [
        (m.__name__, name, factory)
        for m, name, factory in assigned
        if factory not in ("_view", "_records")
    ] == []
    built = {id(vars(m)[name]) for m, name, _ in assigned}
    assert sorted(held[i] for i in held if i not in built) == [], "a Listing made another way"
