"""requirements.lock, which every make target installs, pins what pyproject.toml asks for.

A dependency added to or narrowed in pyproject.toml without `make upgrade-deps` (or a manual
`uv pip compile`) would make a fresh machine install something CI never tested; here it fails
instead, offline.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)")


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        match = PIN.match(line)
        if match:
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted += extra
    build = (ROOT / "build-requirements.in").read_text().splitlines()
    wanted += [line for line in build if line.strip() and not line.startswith("#")]
    return [Requirement(text) for text in wanted]


def test_every_requirement_is_pinned_and_hashed_within_its_range():
    pins = _pins()
    assert pins, "requirements.lock pins nothing"
    for requirement in _requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in requirements.lock: run make upgrade-deps"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, outside {requirement}"
        )
    text = (ROOT / "requirements.lock").read_text()
    for block in re.split(r"\n(?=[A-Za-z0-9_.-]+==)", text):
        if PIN.match(block):
            assert "--hash=sha256:" in block, f"no hash for {block.splitlines()[0]}"
