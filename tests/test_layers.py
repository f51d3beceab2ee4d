"""Every import runs downward: each module belongs to one layer and imports only its own package
or a lower layer (README, "Architecture"). A module added anywhere is placed by its path, so a
new upward import fails here rather than in review."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Highest first: (rank, group, the dotted prefixes of the group's modules). A module may import
# its own group and any lower rank; the most specific prefix places it.
LAYERS: list[tuple[int, str, tuple[str, ...]]] = [
    (5, "root", ("registry.app", "registry.cli")),  # composition root and the command line
    (4, "handlers", ("handlers",)),  # what each operation does
    (4, "seed", ("registry.seed",)),  # demo data and fixtures
    (3, "web", ("registry.web",)),  # HTTP plumbing
    (2, "spec", ("registry.spec",)),  # the OpenAPI documents
    (2, "models", ("models",)),  # resources and their rules
    (1, "storage", ("models.storage",)),  # database machinery
    (
        0,
        "vocabulary",
        (
            "models.caller",
            "models.errors",
            "models.enums",
            "models.lru",
            "registry.settings",
            "registry",
        ),
    ),  # words every layer shares
]
PACKAGES = ("registry", "handlers", "models")


def layer_of(module: str) -> tuple[int, str]:
    """(rank, group) of a dotted module name."""
    matches = [
        (len(prefix), rank, group)
        for rank, group, prefixes in LAYERS
        for prefix in prefixes
        if module == prefix or module.startswith(prefix + ".")
    ]
    _, rank, group = max(matches)
    return rank, group


def module_name(path: Path, root: Path = ROOT) -> str:
    name = ".".join(path.relative_to(root).with_suffix("").parts)
    return name.removesuffix(".__init__")


def project_imports(path: Path, root: Path = ROOT) -> set[str]:
    """Every project module the file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from models import user` and `from models.user import X` both import models.user
            found |= {
                f"{node.module}.{alias.name}"
                for alias in node.names
                if (root / Path(*node.module.split("."), alias.name)).exists()
                or (root / Path(*node.module.split("."), alias.name + ".py")).exists()
            }
            found.add(node.module)
    return {name for name in found if name.split(".")[0] in PACKAGES}


def modules(root: Path = ROOT) -> list[Path]:
    return sorted(path for package in PACKAGES for path in (root / package).rglob("*.py"))


def upward_imports(root: Path = ROOT) -> list[str]:
    wrong = []
    for path in modules(root):
        rank, group = layer_of(module_name(path, root))
        for target in sorted(project_imports(path, root)):
            target_rank, target_group = layer_of(target)
            if target_rank < rank or target_group == group:
                continue
            wrong.append(
                f"{path.relative_to(root)} ({group}, layer {rank}) imports {target} "
                f"({target_group}, layer {target_rank})"
            )
    return wrong


def test_every_import_runs_downward():
    assert len(modules()) > 60
    assert upward_imports() == []


def test_the_check_sees_an_upward_import(tmp_path):
    """The check itself can fail: a storage module importing a handler is reported."""
    (tmp_path / "models" / "storage").mkdir(parents=True)
    (tmp_path / "handlers").mkdir()
    (tmp_path / "handlers" / "objects.py").write_text("")
    (tmp_path / "models" / "storage" / "leak.py").write_text(
        "def later():\n    from handlers import objects\n"
    )
    assert upward_imports(tmp_path) == [
        "models/storage/leak.py (storage, layer 1) imports handlers (handlers, layer 4)",
        "models/storage/leak.py (storage, layer 1) imports handlers.objects (handlers, layer 4)",
    ]


def test_layers_place_the_modules_as_the_readme_says():
    assert layer_of("registry.web.fast_reads") == (3, "web")
    assert layer_of("models.storage.query") == (1, "storage")
    assert layer_of("models.object_writes") == (2, "models")
    assert layer_of("models.errors") == (0, "vocabulary")
    assert layer_of("handlers.objects") == (4, "handlers")
