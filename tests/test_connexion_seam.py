"""Connexion's internals are used in registry/web/connexion_seam.py only, and checked at start-up.

The check must fire (with the installed version named) when a name it relies on is gone; and no
other module of the project may import or touch a private name of a third-party package: not
`from x import _name`, not `x._name`, not a private hook overridden or read in a subclass.
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import connexion.decorators.parameter
import connexion.frameworks.starlette
import pytest
from connexion.security import AbstractSecurityHandler

from registry.app import create_app
from registry.settings import Settings
from registry.web import connexion_seam

ROOT = Path(__file__).resolve().parent.parent
SEAM = ROOT / "registry" / "web" / "connexion_seam.py"
# Private names outside the seam, each with its reason. Not Connexion's: pytest-xdist's scope
# hook, which its own LoadFileScheduling overrides the same way; test tooling only.
ALLOWED = {("tests/parallel.py", "overrides _split_scope of a third-party class")}
SKIPPED_DIRS = {".venv", "node_modules", ".git", "build", "dist", "__pycache__"}


def test_the_seam_holds_with_the_installed_connexion():
    connexion_seam.check()


@pytest.mark.parametrize(
    "owner, name",
    [
        (connexion.frameworks.starlette, "PATH_PARAMETER_CONVERTERS"),
        (connexion.decorators.parameter, "_get_val_from_param"),
        (AbstractSecurityHandler, "_accepts_kwarg"),
    ],
)
def test_the_check_names_what_is_missing_and_the_version(monkeypatch, owner, name):
    monkeypatch.delattr(owner, name)
    with pytest.raises(connexion_seam.SeamError) as error:
        connexion_seam.check()
    message = str(error.value)
    assert f"Connexion {connexion_seam.connexion_version()} " in message
    assert name in message


def test_a_changed_signature_is_refused(monkeypatch):
    monkeypatch.setattr(
        connexion.decorators.parameter, "_get_query_defaults", lambda definitions, extra: {}
    )
    with pytest.raises(connexion_seam.SeamError, match="_get_query_defaults"):
        connexion_seam.check()


def test_the_app_factory_runs_the_check(monkeypatch, database_url):
    monkeypatch.delattr(connexion.decorators.parameter, "_get_query_defaults")
    with pytest.raises(connexion_seam.SeamError, match="_get_query_defaults"):
        create_app(Settings(database_url=database_url))


# The AST scan.


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _project_files() -> list[Path]:
    files = []
    for path in ROOT.rglob("*.py"):
        if SKIPPED_DIRS.intersection(path.relative_to(ROOT).parts) or path == SEAM:
            continue
        files.append(path)
    return sorted(files)


def _is_third_party(module: str, here: Path) -> bool:
    """A top-level module that is neither the standard library nor one of the project's own
    (a package or module at the root, or beside the importing file: tests import siblings)."""
    top = module.split(".")[0]
    if not top or top in sys.stdlib_module_names:
        return False
    for folder in (ROOT, here.parent, ROOT / "tests"):
        if (folder / top).is_dir() or (folder / f"{top}.py").exists():
            return False
    return True


def _resolve(module: str, name: str | None):
    try:
        found = importlib.import_module(module)
        return getattr(found, name) if name else found
    except Exception:
        return None


class _Scan(ast.NodeVisitor):
    def __init__(self, path: Path):
        self.path = path
        self.foreign: dict[str, tuple[str, str | None]] = {}  # local name -> (module, name)
        self.found: list[str] = []

    def flag(self, node, what: str) -> None:
        self.found.append(f"{self.path.relative_to(ROOT)}:{node.lineno}: {what}")

    def visit_Import(self, node):
        for alias in node.names:
            if _is_third_party(alias.name, self.path):
                if any(_private(part) for part in alias.name.split(".")):
                    self.flag(node, f"import {alias.name}")
                local = alias.asname or alias.name.split(".")[0]
                self.foreign[local] = (alias.name if alias.asname else local, None)

    def visit_ImportFrom(self, node):
        module = node.module or ""
        if node.level or not _is_third_party(module, self.path):
            return
        if any(_private(part) for part in module.split(".")):
            self.flag(node, f"from {module} import ...")
        for alias in node.names:
            if _private(alias.name):
                self.flag(node, f"from {module} import {alias.name}")
            self.foreign[alias.asname or alias.name] = (module, alias.name)

    def visit_Attribute(self, node):
        chain, root = [node.attr], node.value
        while isinstance(root, ast.Attribute):
            chain.append(root.attr)
            root = root.value
        if isinstance(root, ast.Name) and root.id in self.foreign:
            private = [a for a in chain if _private(a)]
            if private:
                self.flag(node, f"{root.id}...{private[0]}")
        self.generic_visit(node)

    def visit_ClassDef(self, node):
        bases = [
            self.foreign[b.id]
            for b in node.bases
            if isinstance(b, ast.Name) and b.id in self.foreign
        ]
        if bases:
            self._check_subclass(node, [_resolve(m, n) for m, n in bases])
        self.generic_visit(node)

    def _check_subclass(self, node, bases):
        """A subclass of a third-party class may neither override a private name its base
        has, nor read a private attribute it does not set itself (nor call `super()._x`)."""
        own = set()
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if _private(item.name) and any(hasattr(b, item.name) for b in bases if b):
                    self.flag(item, f"overrides {item.name} of a third-party class")
                own.add(item.name)
            elif isinstance(item, (ast.Assign, ast.AnnAssign)):
                targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                own |= {t.id for t in targets if isinstance(t, ast.Name)}
        for sub in ast.walk(node):
            if (
                isinstance(sub, ast.Attribute)
                and isinstance(sub.ctx, ast.Store)
                and isinstance(sub.value, ast.Name)
                and sub.value.id == "self"
            ):
                own.add(sub.attr)
        for sub in ast.walk(node):
            if not isinstance(sub, ast.Attribute) or not _private(sub.attr):
                continue
            value = sub.value
            if isinstance(value, ast.Name) and value.id in ("self", "cls") and sub.attr not in own:
                self.flag(sub, f"{value.id}.{sub.attr} of a third-party class")
            elif (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Name)
                and value.func.id == "super"
            ):
                self.flag(sub, f"super().{sub.attr}")


def _scan(path: Path, source: str | None = None) -> list[str]:
    scan = _Scan(path)
    scan.visit(ast.parse(path.read_text() if source is None else source, filename=str(path)))
    return scan.found


def test_no_module_outside_the_seam_uses_a_private_third_party_name():
    files = _project_files()
    assert len(files) > 50 and ROOT / "registry" / "web" / "fast_reads.py" in files
    found = [
        finding
        for path in files
        for finding in _scan(path)
        if (str(path.relative_to(ROOT)), finding.split(": ", 1)[1]) not in ALLOWED
    ]
    assert not found, (
        "private third-party names outside registry/web/connexion_seam.py:\n" + "\n".join(found)
    )


@pytest.mark.parametrize(
    "source, expected",
    [
        # A package the project does not have stands for any third-party one.
        ("from vendored.context import _state\n", "from vendored.context import _state"),
        ("import vendored.security as s\nx = s.Handler._hook\n", "_hook"),
        (
            "from connexion.validators.json import JSONRequestBodyValidator as V\n"
            "class A(V):\n    async def _parse(self, stream, scope):\n"
            "        return self._encoding\n",
            "overrides _parse",
        ),
        (
            "from connexion.validators.json import JSONRequestBodyValidator as V\n"
            "class A(V):\n    def check(self, body):\n        return self._schema\n",
            "self._schema",
        ),
    ],
)
def test_the_scan_finds_each_kind_of_use(source, expected):
    found = _scan(ROOT / "tests" / "sample.py", source)
    assert any(expected in finding for finding in found), found
