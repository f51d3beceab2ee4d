"""The reference's own client, generated at test time, and a live server for it to talk to.

`generated_client()` has openapi-generator (the jar inside the `openapi-generator-cli` wheel of
the `clients` extra, which `make test` installs; Java 11+) build a Python client from the
APTrust Registry's member API specification as published (tests/reference_spec/). Nothing
generated is committed: the package goes to build/reference-client/<key>/, where <key> hashes the
specification, the generator's version and its options, so a later run with the same inputs
reuses it. A lock file keeps two pytest workers from generating it at once.

`live_server(database_url)` runs `registry serve` (one uvicorn process) on a free port of
127.0.0.1 over the session's database, and stops it when the block ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import importlib.metadata
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import ModuleType

import pytest

from tests.postgres import IN_CI

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "tests" / "reference_spec" / "member_api_v3.yml"
BUILD = ROOT / "build" / "reference-client"
PACKAGE = "aptrust_member_client"
BIN = Path(sys.executable).parent
# The spec's checksum field `datetime` would shadow the `datetime` type in the generated
# pydantic model (the module fails to import): the Python attribute is renamed, the JSON key
# stays `datetime`.
GENERATOR_ARGS = [
    "generate",
    "-g",
    "python",
    "--package-name",
    PACKAGE,
    "--name-mappings",
    "datetime=var_datetime",
    "--global-property",
    "apiTests=false,modelTests=false,apiDocs=false,modelDocs=false",
]


def _missing_tool() -> str | None:
    """Why the generator cannot run here, or None."""
    if shutil.which("java") is None:
        return "openapi-generator needs Java 11+ (java is not on PATH)"
    try:
        importlib.metadata.version("openapi-generator-cli")
        for module in ("pydantic", "urllib3", "dateutil"):
            importlib.import_module(module)
    except (importlib.metadata.PackageNotFoundError, ImportError) as exc:
        return f"the `clients` extra is not installed ({exc}); `make test` installs it"
    return None


def _unavailable(reason: str):
    """Skipped on a developer's machine; under CI=true a missing tool fails the run."""
    if IN_CI:
        pytest.fail(f"CI=true requires the generated reference client: {reason}")
    pytest.skip(reason)


def _cache_key() -> str:
    digest = hashlib.sha256(SPEC.read_bytes())
    digest.update(importlib.metadata.version("openapi-generator-cli").encode())
    digest.update("\0".join(GENERATOR_ARGS).encode())
    return digest.hexdigest()[:16]


def generated_client() -> ModuleType:
    """The generated package, imported (generated first unless a run made it already)."""
    problem = _missing_tool()
    if problem:
        _unavailable(problem)
    BUILD.mkdir(parents=True, exist_ok=True)
    target = BUILD / _cache_key()
    with open(BUILD / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the other pytest worker waits, then finds it made
        if not (target / PACKAGE / "__init__.py").exists():
            _generate(target)
    if str(target) not in sys.path:
        sys.path.insert(0, str(target))
    return importlib.import_module(PACKAGE)


def _generate(target: Path) -> None:
    scratch = Path(tempfile.mkdtemp(dir=BUILD, prefix=".generating-"))
    try:
        command = [
            str(BIN / "openapi-generator-cli"),
            *GENERATOR_ARGS,
            "-i",
            str(SPEC),
            "-o",
            str(scratch),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise AssertionError(
                f"openapi-generator failed ({done.returncode}):\n"
                f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        shutil.rmtree(target, ignore_errors=True)
        scratch.rename(target)  # whole, or not at all
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def live_server(database_url: str, log_path: Path):
    """`registry serve` over `database_url` on 127.0.0.1; yields its base URL."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REGISTRY_VALIDATE_RESPONSES": "true",
        "REGISTRY_LOG_LEVEL": "warning",
    }
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [
                str(BIN / "registry"),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "0",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_it_answers(server, url, log_path)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_until_it_answers(server: subprocess.Popen, url: str, log_path: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(
                f"registry serve exited ({server.returncode}):\n{log_path.read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(f"{url}/openapi.json", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(
        f"registry serve did not answer within 90 s:\n{log_path.read_text()[-3000:]}"
    )
