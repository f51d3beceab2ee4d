"""Releases of the published documents, and the gate that keeps them from breaking clients.

    python -m registry.spec.release check              # make spec-check (CI)
    python -m registry.spec.release release X.Y.Z      # make release VERSION=X.Y.Z

The documents of each release live in spec/released/<version>/ (the bundled member and admin
documents, as the server publishes them). `check` compares what the server publishes now with
the latest release (registry.spec.breaking) and fails, naming each change, when one can break
a client, unless the major version went up. It also holds the version in step: both documents
carry the same semantic `info.version`, never below the latest release; CHANGELOG.md has a
section for it; and a version already released publishes exactly its released documents (a
change needs a new version). `release` runs the same checks for a new version and records its
documents; it refuses a breaking change without a major version.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import orjson

from registry.spec import load_spec, published
from registry.spec.breaking import breaking_changes
from registry.spec.files import SOURCES

ROOT = Path(__file__).resolve().parents[2]
RELEASED = ROOT / "spec" / "released"
CHANGELOG = ROOT / "CHANGELOG.md"
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")


class ReleaseError(Exception):
    """A check failed; the message names every reason."""


def version_key(version: str) -> tuple[int, int, int]:
    match = SEMVER.match(version)
    if not match:
        raise ReleaseError(f"{version!r} is not a semantic version (MAJOR.MINOR.PATCH)")
    return tuple(int(part) for part in match.groups())


@dataclass
class State:
    """What is published now, and the latest release."""

    documents: dict[str, dict]  # name (member_api_v3, admin_api_v3) -> published document
    released: dict[str, dict]  # the same names, as released
    released_version: str | None

    @property
    def version(self) -> str:
        versions = {d["info"]["version"] for d in self.documents.values()}
        if len(versions) != 1:
            raise ReleaseError(f"the documents' info.version differ: {sorted(versions)}")
        (version,) = versions
        version_key(version)
        return version


def current_documents() -> dict[str, dict]:
    return {name: published(load_spec(source)) for name, source in SOURCES.items()}


def latest_release(released_dir: Path = RELEASED) -> str | None:
    versions = [p.name for p in released_dir.iterdir() if p.is_dir() and SEMVER.match(p.name)]
    return max(versions, key=version_key) if versions else None


def state(documents: dict[str, dict] | None = None, released_dir: Path = RELEASED) -> State:
    latest = latest_release(released_dir) if released_dir.exists() else None
    released = {}
    if latest:
        for name in SOURCES:
            released[name] = orjson.loads((released_dir / latest / f"{name}.json").read_bytes())
    return State(documents or current_documents(), released, latest)


def breaking(current: State) -> list[str]:
    return [
        f"{name}: {change}"
        for name, document in current.documents.items()
        if name in current.released
        for change in breaking_changes(current.released[name], document)
    ]


def problems(current: State, version: str, changelog: Path, *, releasing: bool) -> list[str]:
    """Every reason `version` (the documents' own, or the one being released) fails."""
    found = []
    latest = current.released_version
    if latest is not None:
        if version_key(version) < version_key(latest):
            found.append(f"info.version {version} is below the latest release {latest}")
        elif version == latest:
            if releasing:
                found.append(f"{version} is released already (spec/released/{version}/)")
            elif current.documents != current.released:
                found.append(
                    f"the documents changed since {latest} was released: raise info.version "
                    f"(in both specs) and add its section to CHANGELOG.md"
                )
        changes = breaking(current)
        if changes and version_key(version)[0] <= version_key(latest)[0]:
            found += [f"BREAKING (needs a major version after {latest}) {c}" for c in changes]
    heading = re.compile(rf"^## \[{re.escape(version)}\]", re.MULTILINE)
    if not changelog.exists() or not heading.search(changelog.read_text(encoding="utf-8")):
        found.append(f"{changelog.name} has no section `## [{version}]`")
    return found


def check(
    documents: dict[str, dict] | None = None,
    released_dir: Path = RELEASED,
    changelog: Path = CHANGELOG,
) -> list[str]:
    current = state(documents, released_dir)
    return problems(current, current.version, changelog, releasing=False)


def release(
    version: str,
    documents: dict[str, dict] | None = None,
    released_dir: Path = RELEASED,
    changelog: Path = CHANGELOG,
) -> Path:
    current = state(documents, released_dir)
    found = []
    if current.version != version:
        found.append(f"the documents say info.version {current.version}, not {version}")
    found += problems(current, version, changelog, releasing=True)
    if found:
        raise ReleaseError("; ".join(found))
    target = released_dir / version
    target.mkdir(parents=True)
    for name, document in current.documents.items():
        (target / f"{name}.json").write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    return target


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check")
    release_parser = commands.add_parser("release")
    release_parser.add_argument("version")
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            found = check()
            for problem in found:
                print(problem)
            if found:
                return 1
            current = state()
            print(f"spec-check: {current.version} against release {current.released_version}: ok")
            return 0
        target = release(args.version)
    except ReleaseError as exc:
        print(f"refused: {exc}")
        return 1
    print(f"released {args.version}: {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
