"""One convention for writes: a handler runs `run_write(write, caller, ...)`, and the write
function takes the caller first and returns the view the API answers (a dict, or a list of
them), never an id for the handler to read back. Read from the handlers' source."""
from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil

import handlers


def _writes():
    """(handler module, call text, the function it runs) for each run_write call in handlers/."""
    for info in pkgutil.iter_modules(handlers.__path__):
        module = importlib.import_module(f"handlers.{info.name}")
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "run_write"):
                function = eval(ast.unparse(node.args[0]), vars(module))  # noqa: S307
                yield info.name, node, function


WRITES = list(_writes())


def test_the_write_calls_are_found():
    """The control of the tests below: every admin and member write of the handlers."""
    names = {function.__name__ for _, _, function in WRITES}
    assert len(names) >= 25
    assert {"create_institution", "disable_user", "issue_api_key", "restore_object",
            "generate_failed_fixity_alerts", "mark_alerts"} <= names


def test_every_handler_passes_its_caller_to_the_write():
    passed = {(name, ast.unparse(call)) for name, call, _ in WRITES
              if len(call.args) < 2 or ast.unparse(call.args[1]) != "caller"}
    assert passed == set()


def test_every_write_function_takes_the_caller_first_and_returns_the_view():
    for _, _, function in WRITES:
        assert function.__module__.startswith("models."), function
        parameters = list(inspect.signature(function).parameters)
        assert parameters[:1] == ["caller"], (function.__module__, function.__name__)
        assert function.__annotations__.get("return") in ("dict", "list[dict]"), (
            function.__module__, function.__name__)
