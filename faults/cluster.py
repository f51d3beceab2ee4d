"""A private PostgreSQL cluster for the fault suite: created on a free port of its own
(`pg_createcluster`, listening on localhost only, as Debian's default has it, with
trust authentication), stopped, started, frozen and
thawed by the suite, and dropped (`pg_dropcluster --stop`) when it ends. The machine's main
cluster (port 5432) is never touched. A cluster left behind by a suite whose process is gone
(its name carries the pid) is dropped by the next run.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

VERSION = "15"
PREFIX = "faults"
TOOLS = ("pg_createcluster", "pg_ctlcluster", "pg_dropcluster", "pg_lsclusters")


class ClusterError(RuntimeError):
    pass


def _run(*argv: str, timeout: float = 60) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise ClusterError(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (read from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return found


def clusters() -> list[tuple[str, str, int]]:
    """(version, name, port) of every cluster on the machine."""
    rows = []
    for line in _run("pg_lsclusters", "--no-header").splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[2].isdigit():
            rows.append((fields[0], fields[1], int(fields[2])))
    return rows


def drop_stale() -> list[str]:
    """Drop the clusters of earlier suites whose process is gone."""
    dropped = []
    for version, name, _port in clusters():
        match = re.fullmatch(rf"{PREFIX}(\d+)", name)
        if version == VERSION and match and not _pid_alive(int(match.group(1))):
            subprocess.run(["pg_dropcluster", "--stop", version, name], capture_output=True)
            dropped.append(name)
    return dropped


def unavailable_reason() -> str | None:
    """Why this machine cannot give the suite a cluster, or None."""
    missing = [tool for tool in TOOLS if not _which(tool)]
    if missing:
        return f"no {', '.join(missing)} (Debian's postgresql-common)"
    if not Path(f"/usr/lib/postgresql/{VERSION}/bin/postgres").exists():
        return f"no PostgreSQL {VERSION} server binaries"
    if os.geteuid() != 0:
        return "pg_createcluster needs root"
    return None


def _which(tool: str) -> bool:
    return any(
        os.access(os.path.join(directory, tool), os.X_OK)
        for directory in os.environ.get("PATH", "").split(os.pathsep)
    )


class Cluster:
    def __init__(self, port: int):
        self.name = f"{PREFIX}{os.getpid()}"
        self.port = port
        self.created = False
        self._frozen: list[int] = []

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/registry"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def log_path(self) -> Path:
        return Path(f"/var/log/postgresql/postgresql-{VERSION}-{self.name}.log")

    def create(self) -> None:
        if self.port == 5432:
            raise ClusterError("the suite's cluster may not take the main cluster's port")
        self.created = True  # from here on, drop() removes whatever part of it exists
        _run(
            "pg_createcluster",
            VERSION,
            self.name,
            "--port",
            str(self.port),
            "--start-conf",
            "manual",
            "-o",
            "max_connections=60",
            "-o",
            "shared_buffers=32MB",
            "--",
            "--auth=trust",
            timeout=120,
        )
        self.start()
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute("CREATE DATABASE registry")

    def start(self) -> None:
        _run("pg_ctlcluster", "--skip-systemctl-redirect", VERSION, self.name, "start")
        self.wait_ready(30)

    def stop(self) -> None:
        _run("pg_ctlcluster", "--skip-systemctl-redirect", VERSION, self.name, "stop", "-m", "fast")

    def wait_ready(self, within: float) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            probe = subprocess.run(
                ["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)], timeout=10
            )
            if probe.returncode == 0:
                return
            time.sleep(0.1)
        raise ClusterError(f"cluster {self.name} not ready within {within:g} s")

    def postmaster_pid(self) -> int:
        pidfile = Path(f"/var/lib/postgresql/{VERSION}/{self.name}/postmaster.pid")
        return int(pidfile.read_text().split()[0])

    def freeze(self) -> None:
        """SIGSTOP the postmaster (so it forks no more), then every process it has."""
        postmaster = self.postmaster_pid()
        os.kill(postmaster, signal.SIGSTOP)
        self._frozen = [postmaster]
        for child in _children(postmaster):
            try:
                os.kill(child, signal.SIGSTOP)
                self._frozen.append(child)
            except ProcessLookupError:
                pass

    def thaw(self) -> None:
        for pid in reversed(self._frozen):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self._frozen = []

    def drop(self, keep_log: Path | None = None) -> None:
        """Thaw it, copy its log to `keep_log`, and drop it (stopping it)."""
        self.thaw()
        if keep_log is not None and self.log_path.exists():
            try:
                keep_log.write_bytes(self.log_path.read_bytes())
            except OSError:
                pass
        if self.created:
            subprocess.run(
                ["pg_dropcluster", "--stop", VERSION, self.name], capture_output=True, timeout=120
            )
            self.created = False
