"""Spectral over the published documents, each finding named at its place in the sources.

    python -m registry.spec.lint DIR

Spectral is run once per published document in DIR (written by `python -m registry.spec.files`
just before): a self-contained file with no reference to another file, so every run sees the
same document. Linting the multi-file sources directly is not deterministic: Spectral sometimes
runs its rules before it has resolved every external `$ref` (stoplightio/spectral#2640, #2089)
and then reports errors that are not there, about one run in ten. Instead each finding's JSON
path in the published document is walked back through the sources here, following their
`$ref`s file by file, to the file and line an author edits. Exit status 1 on any error or
warning, as `--fail-severity warn`; findings are printed in a fixed order.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from registry.spec import ADMIN_SPEC, MEMBER_SPEC

ROOT = Path(__file__).resolve().parents[2]
SPECTRAL = ROOT / "node_modules" / ".bin" / "spectral"
RULESET = ROOT / ".spectral.yaml"
SOURCES = {"member_api_v3": MEMBER_SPEC, "admin_api_v3": ADMIN_SPEC}
SEVERITIES = ("error", "warning", "info", "hint")  # Spectral's numeric severities 0..3
FAILING = 1  # warnings fail too


@dataclass(frozen=True)
class Place:
    file: Path
    line: int  # 1-based

    def __str__(self) -> str:
        try:
            shown = self.file.relative_to(ROOT)
        except ValueError:
            shown = self.file
        return f"{shown}:{self.line}"


@cache
def _nodes(path: Path) -> yaml.Node:
    """The file's YAML node tree: values with the line each starts on."""
    return yaml.compose(path.read_text(), Loader=yaml.SafeLoader)


def _child(node: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == key:
                return v
    if isinstance(node, yaml.SequenceNode) and key.isdigit() and int(key) < len(node.value):
        return node.value[int(key)]
    return None


def _pointer(pointer: str) -> list[str]:
    return [
        part.replace("~1", "/").replace("~0", "~") for part in pointer.strip("/").split("/") if part
    ]


def _follow_ref(node: yaml.Node, file: Path) -> tuple[yaml.Node, Path] | None:
    """The node a `$ref` mapping points to, in its own file (or None)."""
    ref = _child(node, "$ref")
    if not isinstance(ref, yaml.ScalarNode):
        return None
    file_part, _, pointer = ref.value.partition("#")
    target = (file.parent / file_part).resolve() if file_part else file
    found = _walk(_nodes(target), target, _pointer(pointer))
    return found


def _walk(node: yaml.Node, file: Path, path: list[str]) -> tuple[yaml.Node, Path] | None:
    for index, key in enumerate(path):
        child = _child(node, key)
        if child is None:
            referred = _follow_ref(node, file)
            if referred is None:
                return None
            return _walk(referred[0], referred[1], path[index:])
        node = child
    return node, file


def _deepest(node: yaml.Node, file: Path, path: list[str]) -> Place:
    """Where `path` leads from `node`, following `$ref`s across files; when a step is missing
    (a key the bundler adds), the deepest node that exists."""
    for index, key in enumerate(path):
        child = _child(node, key)
        if child is None:
            referred = _follow_ref(node, file)
            if referred is None:
                break
            return _deepest(referred[0], referred[1], path[index:])
        node = child
    return Place(file, node.start_mark.line + 1)


def _component_home(kind: str, name: str, root: Path) -> tuple[yaml.Node, Path] | None:
    """The source file that defines a component the bundler lifted into the root document."""
    for file in [root, *sorted(root.parent.rglob("*.yaml"))]:
        node = _walk(_nodes(file.resolve()), file.resolve(), ["components", kind, name])
        if node is not None:
            return node
    return None


def source_place(root: Path, path: list) -> Place:
    """The source file and line of the published document's node at `path`."""
    root = root.resolve()
    keys = [str(key) for key in path]
    if len(keys) >= 3 and keys[0] == "components":
        home = _component_home(keys[1], keys[2], root)
        if home is not None:
            return _deepest(home[0], home[1], keys[3:])
    return _deepest(_nodes(root), root, keys)


def spectral_findings(document: Path) -> list[dict]:
    """Spectral's findings on one self-contained document, as its JSON report gives them."""
    if not SPECTRAL.exists():
        raise SystemExit(f"{SPECTRAL} is missing: run `make npm-install`")
    run = subprocess.run(
        [
            str(SPECTRAL),
            "lint",
            "--ruleset",
            str(RULESET),
            "--format",
            "json",
            "--quiet",
            "--fail-severity",
            "error",
            str(document),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return json.loads(run.stdout or "[]")
    except json.JSONDecodeError:
        raise SystemExit(
            f"Spectral gave no report on {document} (exit {run.returncode}):\n"
            f"{run.stderr or run.stdout}"
        ) from None


def report(directory: Path) -> tuple[list[str], int]:
    """(lines to print, how many findings fail the lint), in a fixed order."""
    lines, failing = [], 0
    for name, source in SOURCES.items():
        document = directory / f"{name}.yaml"
        findings = sorted(
            spectral_findings(document), key=lambda f: (f["severity"], f["code"], f["path"])
        )
        for finding in findings:
            place = source_place(source, finding["path"])
            severity = SEVERITIES[finding["severity"]]
            at = ".".join(str(p) for p in finding["path"])
            lines.append(
                f"{place}: {severity} {finding['code']}: {finding['message']} "
                f"[{document.name} {at}]"
            )
            failing += finding["severity"] <= FAILING
        lines.append(f"{document}: {len(findings)} finding(s)")
    return lines, failing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="where spec_files wrote the documents")
    lines, failing = report(parser.parse_args(argv).directory)
    print("\n".join(lines))
    if failing:
        print(f"spec lint: {failing} error(s) or warning(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
