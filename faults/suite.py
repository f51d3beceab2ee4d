"""The fault suite (`make faults`, README "Faults under load"): `registry serve --workers 2`
(gunicorn, as shipped) on a private PostgreSQL 15 cluster (faults/cluster.py), under a bounded
load of reads and writes from a few client threads on 127.0.0.1, and one fault at a time:

- db-stop:       the database stopped (`pg_ctlcluster stop -m fast`) for HOLD s, then started
- db-freeze:     the postmaster and every backend SIGSTOPped for HOLD s, then SIGCONTed
- backend-term:  one backend serving the app ended (`pg_terminate_backend`)
- backend-kill:  one backend serving the app SIGKILLed (the postmaster then restarts them all)
- worker-kill:   one gunicorn worker SIGKILLed (gunicorn starts another)
- master-term:   drained as README's runbook says (the drain file created: /readyz 503), then
                 the gunicorn master SIGTERMed with a write in flight (its body half sent):
                 it finishes it, exits; a new server is started on the same port

Each write creates an object whose identifier is unique; at the end the database is read
directly. A phase passes when: every acknowledged write (201) is there; no refused write (503
"Nothing of it was written", or its connection refused) is there (a 503 "may or may not have
been written" or a connection broken mid-request is an unknown outcome: counted, not judged);
every answer is 2xx or 503 problem+json with Retry-After (connection errors only where a server
process is killed or stopped: counted apart) within the deadline plus slack, never a hang or a
500; reads and writes answer 2xx again within the phase's recovery bound after the fault's end;
`/readyz` answers 503 during a database outage (db-stop, db-freeze) and while draining
(master-term), and 200 after every fault;
the server logs hold no traceback. Exit status 1 on any violation.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

from faults.cluster import Cluster, ClusterError, _children, drop_stale, unavailable_reason
from tests.live_server import PREPARE

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "test-results"
IN_CI = os.environ.get("CI", "").lower() == "true"

DEADLINE = 2.0  # REGISTRY_REQUEST_DEADLINE_MS / 1000
SLACK = 2.0  # what an answer may be later than its bound on a loaded two-core machine
ANSWER_BOUND = DEADLINE + SLACK  # no answer may take longer (else: a hang)
READYZ_BOUND = 1.0 + SLACK
RECOVERY_BOUND = 10.0  # 2xx again this long after a fault ends (master-term: after restart)
RESTART_BOUND = 30.0  # master-term: a new server answers within this
DRAIN_BOUND = 2.0  # master-term: /readyz answers 503 this long after the drain file appears
HOLD = 4.0  # how long the database stays stopped or frozen
BASELINE = 1.5  # load before each fault
AFTER = 1.5  # load after recovery
SUITE_LIMIT = 300  # seconds: the whole suite, cleanup included, ends by itself
CLIENT_TIMEOUT = 10.0
READERS, WRITERS = 2, 2
PAUSE = 0.02  # between one thread's requests: at most ~50 a second each
MAX_CALLS_PER_THREAD = 1500

SERVER_ENV = {
    "REGISTRY_REQUEST_DEADLINE_MS": str(int(DEADLINE * 1000)),
    "REGISTRY_DB_QUEUE_TIMEOUT_MS": "1000",
    "REGISTRY_DB_CONNECT_TIMEOUT_S": "2",
    "REGISTRY_DB_STATEMENT_TIMEOUT_MS": "1500",
    "REGISTRY_DB_LOCK_TIMEOUT_MS": "1000",
    "REGISTRY_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS": "5000",
    "REGISTRY_DB_POOL_SIZE": "4",
    "REGISTRY_RATE_LIMIT": "off",
    "REGISTRY_CONTROL_SOCKET": "off",
    "REGISTRY_LOG_LEVEL": "info",
}
USERS = {"sysadmin": "admin@aptrust.org", "inst_user": "user@example.edu"}


class Timeout(Exception):
    pass


@dataclass
class Call:
    kind: str  # read | write | slow-write
    start: float
    end: float
    status: int | None = None
    error: str | None = None
    problem: bool = False
    retry_after: bool = False
    detail: str = ""
    identifier: str | None = None

    @property
    def took(self) -> float:
        return self.end - self.start


@dataclass
class Phase:
    name: str
    what: str
    conn_errors_expected: bool
    readyz_must_fail: bool
    calls: list[Call] = field(default_factory=list)
    readyz: list[tuple[float, int | None]] = field(default_factory=list)
    # 2xx again within this long of the fault's end (master-term: a new server's start-up too)
    recovery_bound: float = RECOVERY_BOUND
    fault_start: float = 0.0
    fault_end: float = 0.0
    recovered: float | None = None
    signalled: float = 0.0  # master-term: when the master was sent SIGTERM
    notes: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    lost: int = 0
    applied_refused: int = 0
    ambiguous: str = ""


class Server:
    """`python -m registry.cli serve --workers 2` on a fixed port, its own process group."""

    def __init__(self, url: str, port: int, keys: dict, log_dir: Path):
        self.url, self.port, self.keys, self.log_dir = url, port, keys, log_dir
        self.base = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.drain_file = log_dir / "drain"  # while it exists, /readyz answers 503
        self.drain_file.unlink(missing_ok=True)

    def start(self, within: float = 60) -> float:
        self.starts += 1
        log = open(self.log_dir / f"server-{self.starts}.log", "wb")  # noqa: SIM115
        began = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "registry.cli", "serve", "--workers", "2"]
            + ["--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT,
            env={
                **os.environ,
                "DATABASE_URL": self.url,
                "REGISTRY_DRAIN_FILE": str(self.drain_file),
                **SERVER_ENV,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        while time.monotonic() - began < within:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.base}/livez", timeout=2).status_code == 200:
                    return time.monotonic() - began
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"the server did not answer within {within:g} s")

    def workers(self) -> list[int]:
        return _children(self.process.pid) if self.process else []

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            except ProcessLookupError:
                pass


class Load:
    """READERS + WRITERS threads, each a keep-alive client, until stopped (or a bound)."""

    def __init__(self, server: Server, institution_id: int, phase: Phase):
        self.server, self.phase = server, phase
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.create = f"/admin-api/v3/objects/create/{institution_id}"
        self.threads = [
            threading.Thread(target=self._run, args=(kind,), daemon=True)
            for kind in ["read"] * READERS + ["write"] * WRITERS
        ] + [threading.Thread(target=self._readyz, daemon=True)]

    def headers(self, user: str) -> dict:
        return {"X-Pharos-API-User": USERS[user], "X-Pharos-API-Key": self.server.keys[user]}

    def record(self, call: Call) -> None:
        with self.lock:
            self.phase.calls.append(call)

    def _run(self, kind: str) -> None:
        with httpx.Client(base_url=self.server.base, timeout=CLIENT_TIMEOUT) as client:
            for _ in range(MAX_CALLS_PER_THREAD):
                if self.stopping.is_set():
                    return
                if kind == "read":
                    done = call(
                        client,
                        "read",
                        "GET",
                        "/member-api/v3/objects?per_page=5",
                        self.headers("inst_user"),
                    )
                else:
                    done = self.write(client)
                self.record(done)
                # After a connection error (no server on the port), a longer pause.
                time.sleep(PAUSE if done.error is None else 0.1)

    def write(self, client, kind: str = "write", content=None) -> Call:
        identifier = f"example.edu/fault-{self.phase.name}-{uuid.uuid4().hex[:12]}"
        body = {"title": "fault suite", "identifier": identifier}
        if content is not None:
            return call(
                client,
                kind,
                "POST",
                self.create,
                {**self.headers("sysadmin"), "Content-Type": "application/json"},
                identifier,
                content=content(json.dumps(body).encode()),
            )
        return call(client, kind, "POST", self.create, self.headers("sysadmin"), identifier, body)

    def _readyz(self) -> None:
        for _ in range(MAX_CALLS_PER_THREAD):
            if self.stopping.is_set():
                return
            began = time.monotonic()
            try:
                status = httpx.get(f"{self.server.base}/readyz", timeout=CLIENT_TIMEOUT).status_code
            except httpx.HTTPError:
                status = None
            took = time.monotonic() - began
            with self.lock:
                self.phase.readyz.append((began, status))
                if status is not None and (status not in (200, 503) or took > READYZ_BOUND):
                    self.phase.violations.append(f"/readyz answered {status} in {took:.2f} s")
            time.sleep(0.2)

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=CLIENT_TIMEOUT + 5)


def call(client, kind, method, path, headers, identifier=None, body=None, content=None) -> Call:
    began = time.monotonic()
    try:
        if content is not None:
            response = client.request(method, path, headers=headers, content=content)
        else:
            response = client.request(method, path, headers=headers, json=body)
    except httpx.HTTPError as exc:
        return Call(kind, began, time.monotonic(), error=type(exc).__name__, identifier=identifier)
    result = Call(kind, began, time.monotonic(), status=response.status_code, identifier=identifier)
    result.problem = response.headers.get("content-type", "").startswith("application/problem+json")
    result.retry_after = response.headers.get("retry-after", "").isdigit()
    if response.status_code >= 300:
        try:
            result.detail = str(response.json().get("detail", ""))[:300]
        except ValueError:
            result.detail = response.text[:300]
    return result


def wait_recovered(phase: Phase, bound: float) -> None:
    """Until a read and a write that began after the fault's end have both answered 2xx."""
    deadline = phase.fault_end + bound
    while time.monotonic() < deadline + CLIENT_TIMEOUT:
        ok = {
            c.kind: c.end
            for c in list(phase.calls)
            if c.start >= phase.fault_end and c.status and 200 <= c.status < 300
        }
        if "read" in ok and "write" in ok:
            phase.recovered = max(ok["read"], ok["write"]) - phase.fault_end
            return
        time.sleep(0.05)


# --- the faults --------------------------------------------------------------------------


def app_backends(cluster: Cluster) -> list[int]:
    import psycopg

    with psycopg.connect(cluster.admin_url, autocommit=True, connect_timeout=5) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = 'registry'"
            " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        ).fetchall()
    return [pid for (pid,) in rows]


def run_phase(phase: Phase, server: Server, institution_id: int, inject, bound=RECOVERY_BOUND):
    load = Load(server, institution_id, phase)
    load.start()
    try:
        time.sleep(BASELINE)
        phase.fault_start = time.monotonic()
        inject(load)
        phase.fault_end = phase.fault_end or time.monotonic()  # master-term sets its own
        wait_recovered(phase, bound)
        time.sleep(AFTER)
    finally:
        load.stop()


def db_stop(cluster):
    def inject(load):
        cluster.stop()
        time.sleep(HOLD)
        cluster.start()

    return inject


def db_freeze(cluster):
    def inject(load):
        cluster.freeze()
        try:
            time.sleep(HOLD)
        finally:
            cluster.thaw()

    return inject


def backend(cluster, phase: Phase, how: str):
    def inject(load):
        pids = app_backends(cluster)
        if not pids:
            phase.violations.append("no backend of the app to end")
            return
        if how == "term":
            import psycopg

            with psycopg.connect(cluster.admin_url, autocommit=True, connect_timeout=5) as conn:
                conn.execute("SELECT pg_terminate_backend(%s)", (pids[0],))
        else:
            os.kill(pids[0], signal.SIGKILL)
        phase.notes.append(f"{how} backend {pids[0]} of {len(pids)}")

    return inject


def worker_kill(server, phase: Phase):
    def inject(load):
        before = server.workers()
        if not before:
            phase.violations.append("no worker to kill")
            return
        os.kill(before[0], signal.SIGKILL)
        killed = time.monotonic()
        while time.monotonic() - killed < RECOVERY_BOUND:
            now = server.workers()
            if len(now) >= len(before) and before[0] not in now:
                phase.notes.append(f"worker replaced in {time.monotonic() - killed:.2f} s")
                return
            time.sleep(0.01)
        phase.violations.append("the killed worker was not replaced")

    return inject


def master_term(server, phase: Phase):
    """As README's runbook drains an instance: its drain file created, /readyz must answer 503
    within DRAIN_BOUND (the API still answering); then SIGTERM to the master while a write is
    in flight (half its body sent, the rest sent 1 s after the signal): it must be answered
    201; the master must exit within gunicorn's graceful timeout (30 s); then a new server is
    started on the port, the drain file removed."""

    def inject(load):
        drained = time.monotonic()
        server.drain_file.touch()
        while not any(t >= drained and s == 503 for t, s in list(phase.readyz)):
            if time.monotonic() - drained > DRAIN_BOUND:
                phase.violations.append(f"/readyz not 503 within {DRAIN_BOUND:g} s of draining")
                break
            time.sleep(0.05)
        else:
            phase.notes.append(f"/readyz 503 'draining' {time.monotonic() - drained:.2f} s after")
        time.sleep(0.5)
        served = [c for c in list(phase.calls) if c.start >= drained]
        refused = [c for c in served if c.error or not 200 <= c.status < 300]
        if refused:
            phase.violations.append(f"{len(refused)} API request(s) not 2xx while draining")
        phase.notes.append(f"{len(served) - len(refused)} API request(s) 2xx while draining")
        half_sent, signalled = threading.Event(), threading.Event()
        slow: list[Call] = []

        def body(data: bytes):
            def chunks():
                yield data[: len(data) // 2]
                half_sent.set()
                signalled.wait(10)
                time.sleep(1.0)
                yield data[len(data) // 2 :]

            return chunks()

        def slow_write():
            with httpx.Client(base_url=server.base, timeout=CLIENT_TIMEOUT + 20) as client:
                slow.append(load.write(client, "slow-write", content=body))

        writer = threading.Thread(target=slow_write, daemon=True)
        writer.start()
        if not half_sent.wait(10):
            phase.violations.append("the slow write's first half was not sent within 10 s")
        time.sleep(0.3)  # for the worker to read its head and start on it
        term = time.monotonic()
        phase.signalled = term
        os.kill(server.process.pid, signal.SIGTERM)
        signalled.set()
        try:
            code = server.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            phase.violations.append("the master did not exit within 40 s of SIGTERM")
            server.stop()
            code = None
        drained = time.monotonic() - term
        phase.notes.append(f"master exited {code} {drained:.2f} s after SIGTERM")
        writer.join(timeout=CLIENT_TIMEOUT + 25)
        if not slow or slow[0].status != 201:
            got = slow[0].status or slow[0].error if slow else "nothing"
            phase.violations.append(f"the write in flight at SIGTERM got {got}, not 201")
        else:
            phase.notes.append("write in flight at SIGTERM: 201")
        load.record(slow[0]) if slow else None
        phase.fault_end = time.monotonic()
        server.drain_file.unlink(missing_ok=True)
        took = server.start(RESTART_BOUND)
        phase.notes.append(f"new server up in {took:.2f} s")

    return inject


# --- verdicts ----------------------------------------------------------------------------


def judge(phase: Phase, present: set[str]) -> None:
    for c in phase.calls:
        if c.error is not None:
            if c.error in ("ReadTimeout", "WriteTimeout", "PoolTimeout"):
                phase.violations.append(f"{c.kind} hung: no answer in {c.took:.1f} s")
            elif not phase.conn_errors_expected:
                phase.violations.append(f"{c.kind}: connection error {c.error}")
            continue
        bound = ANSWER_BOUND + (30 if c.kind == "slow-write" else 0)
        if c.took > bound:
            phase.violations.append(f"{c.kind} answered {c.status} after {c.took:.2f} s")
        if c.status == 503 and not (c.problem and c.retry_after):
            phase.violations.append(f"{c.kind}: 503 without problem+json and Retry-After")
        elif c.status not in (503,) and not 200 <= c.status < 300:
            phase.violations.append(f"{c.kind} answered {c.status}: {c.detail[:120]}")
    if phase.signalled:
        cut = [c for c in phase.calls if c.error is not None and c.start < phase.signalled]
        phase.notes.append(f"{len(cut)} request(s) sent before SIGTERM got no answer")
    writes = [c for c in phase.calls if c.identifier]
    lost = [c for c in writes if c.status and 200 <= c.status < 300 and c.identifier not in present]
    # Refused: a 503 that says nothing of it was written, or a connection refused (the
    # request never reached a server). Unknown outcome: a 503 that says it may have been
    # written, or a connection broken after the request went out.
    refused = [
        c
        for c in writes
        if (c.status == 503 and "may or may not" not in c.detail) or c.error == "ConnectError"
    ]
    maybe = [
        c
        for c in writes
        if (c.error and c.error != "ConnectError")
        or (c.status == 503 and "may or may not" in c.detail)
    ]
    refused = [c for c in refused if c.identifier in present]
    phase.lost, phase.applied_refused = len(lost), len(refused)
    if lost:
        phase.violations.append(f"{len(lost)} acknowledged write(s) missing")
    if refused:
        phase.violations.append(f"{len(refused)} refused write(s) applied")
    if maybe:
        kept = sum(c.identifier in present for c in maybe)
        phase.ambiguous = f"{len(maybe)} unknown-outcome write(s) ({kept} written)"
    if phase.recovered is None or phase.recovered > phase.recovery_bound:
        phase.violations.append("no 2xx read and write within the recovery bound")
    after = [s for t, s in phase.readyz if t >= phase.fault_end]
    failed_during = any(s != 200 for s in _readyz_during(phase))
    if phase.readyz_must_fail and not failed_during:
        phase.violations.append("/readyz never answered 503 during the outage")
    if 200 not in after:
        phase.violations.append("/readyz never answered 200 after the fault")


def _readyz_during(phase: Phase) -> list[int | None]:
    """/readyz's answers from the fault's start until reads and writes were answered again."""
    end = phase.fault_end + (phase.recovered or 0.0)
    return [s for t, s in phase.readyz if phase.fault_start <= t <= end]


def readyz_summary(phase: Phase) -> str:
    during = _readyz_during(phase)
    after = [(t, s) for t, s in phase.readyz if t > phase.fault_end]
    bad = sum(s == 503 for s in during)
    errors = sum(s is None for s in during)
    first_ok = next((t - phase.fault_end for t, s in after if s == 200), None)
    text = f"{bad}/{len(during)} 503"
    if errors:
        text += f", {errors} no answer"
    text += f" during; 200 after {first_ok:.1f} s" if first_ok is not None else "; no 200 after"
    return text


def row(phase: Phase) -> dict:
    answered = [c for c in phase.calls if c.error is None]
    return {
        "fault": phase.name,
        "requests": len(phase.calls),
        "2xx": sum(200 <= c.status < 300 for c in answered),
        "503": sum(c.status == 503 for c in answered),
        "other": sum(c.status != 503 and not 200 <= c.status < 300 for c in answered),
        "conn errors": sum(c.error is not None for c in phase.calls),
        "max latency": f"{max((c.took for c in answered), default=0):.2f} s",
        "recovery": f"{phase.recovered:.2f} s" if phase.recovered is not None else "none",
        "lost acked": phase.lost,
        "applied refused": phase.applied_refused,
        "readyz": readyz_summary(phase),
        "verdict": "FAIL" if phase.violations else "pass",
    }


def table(rows: list[dict]) -> str:
    heads = list(rows[0])
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    lines += ["| " + " | ".join(str(r[h]) for h in heads) + " |" for r in rows]
    return "\n".join(lines)


# --- the run -----------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def present_identifiers(cluster: Cluster) -> set[str]:
    import psycopg

    with psycopg.connect(cluster.url, autocommit=True, connect_timeout=5) as conn:
        rows = conn.execute(
            "SELECT identifier FROM intellectual_objects"
            " WHERE identifier LIKE 'example.edu/fault-%%'"
        ).fetchall()
    return {identifier for (identifier,) in rows}


def institution_id(cluster: Cluster) -> int:
    import psycopg

    with psycopg.connect(cluster.url, autocommit=True, connect_timeout=5) as conn:
        return conn.execute(
            "SELECT id FROM institutions WHERE identifier = 'example.edu'"
        ).fetchone()[0]


def main() -> int:
    began = time.monotonic()
    reason = unavailable_reason()
    if reason:
        if IN_CI:
            print(f"faults: FAILED: no private PostgreSQL cluster: {reason}", file=sys.stderr)
            return 1
        print(f"faults: skipped: no private PostgreSQL cluster: {reason}", file=sys.stderr)
        return 0
    log_dir = RESULTS / "faults"
    log_dir.mkdir(parents=True, exist_ok=True)
    for old in log_dir.glob("server-*.log"):
        old.unlink()
    for stale in drop_stale():
        print(f"faults: dropped the stale cluster {stale}")

    port = free_port()
    while port == 5432:
        port = free_port()
    cluster = Cluster(port)
    server: Server | None = None

    def cleanup():
        if server is not None:
            server.stop()
        cluster.drop(keep_log=log_dir / "postgresql.log")

    def interrupted(signum, frame):
        raise SystemExit(128 + signum)

    def out_of_time(signum, frame):
        raise Timeout(f"the suite ran past {SUITE_LIMIT} s")

    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(SUITE_LIMIT)
    phases: list[Phase] = []
    try:
        try:
            cluster.create()
        except (ClusterError, OSError, subprocess.SubprocessError) as exc:
            print(f"faults: FAILED: could not create the cluster: {exc}", file=sys.stderr)
            return 1
        print(f"faults: cluster {cluster.name} on port {cluster.port}")
        prepared = subprocess.run(
            [sys.executable, "-c", PREPARE, cluster.url, json.dumps(USERS)],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": cluster.url},
            capture_output=True,
            text=True,
            timeout=180,
            check=True,
        )
        keys = json.loads(prepared.stdout.strip().splitlines()[-1])
        server = Server(cluster.url, free_port(), keys, log_dir)
        server.start()
        example = institution_id(cluster)
        print(f"faults: server on {server.base}, set-up {time.monotonic() - began:.1f} s")

        plan = [
            Phase("db-stop", "pg_ctlcluster stop -m fast, 4 s, start", False, True),
            Phase("db-freeze", "SIGSTOP postmaster and backends, 4 s, SIGCONT", False, True),
            Phase("backend-term", "pg_terminate_backend of one app backend", False, False),
            Phase("backend-kill", "SIGKILL of one app backend", False, False),
            Phase("worker-kill", "SIGKILL of one gunicorn worker", True, False),
            Phase(
                "master-term",
                "drain file, SIGTERM of the gunicorn master, then a restart",
                True,
                True,
                recovery_bound=RESTART_BOUND,
            ),
        ]
        injectors = {
            "db-stop": lambda p: db_stop(cluster),
            "db-freeze": lambda p: db_freeze(cluster),
            "backend-term": lambda p: backend(cluster, p, "term"),
            "backend-kill": lambda p: backend(cluster, p, "kill"),
            "worker-kill": lambda p: worker_kill(server, p),
            "master-term": lambda p: master_term(server, p),
        }
        only = os.environ.get("FAULTS_ONLY", "").split(",")
        for phase in plan:
            if only != [""] and phase.name not in only:
                continue
            inject = injectors[phase.name](phase)
            started = time.monotonic()
            run_phase(phase, server, example, inject, phase.recovery_bound)
            phases.append(phase)
            print(
                f"faults: {phase.name}: {len(phase.calls)} requests in "
                f"{time.monotonic() - started:.1f} s",
                flush=True,
            )

        present = present_identifiers(cluster)
        for phase in phases:
            judge(phase, present)
    except Timeout as exc:
        print(f"faults: FAILED: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(f"faults: FAILED: {exc}\n{exc.stderr or ''}", file=sys.stderr)
        return 1
    except RuntimeError as exc:  # the server did not start
        print(f"faults: FAILED: {exc} (logs in {log_dir})", file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
        cleanup()
        atexit.unregister(cleanup)

    rows = [row(p) for p in phases]
    text = table(rows)
    # An outage logs a line per episode, never a traceback per request (README, "Timeouts,
    # outages and probes").
    tracebacks = sum(
        log.read_text(errors="replace").count("Traceback") for log in log_dir.glob("server-*.log")
    )
    took = time.monotonic() - began
    print()
    print(text)
    print()
    for phase in phases:
        for note in phase.notes + ([phase.ambiguous] if phase.ambiguous else []):
            print(f"  {phase.name}: {note}")
        for violation in sorted(set(phase.violations)):
            print(f"  {phase.name}: VIOLATION: {violation}")
    print(f"  server logs ({log_dir.relative_to(ROOT)}): {tracebacks} traceback(s)")
    print(f"\nfaults: {took:.0f} s in all")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "faults.md").write_text(text + "\n")
    (RESULTS / "faults.json").write_text(
        json.dumps(
            {
                "seconds": round(took, 1),
                "tracebacks": tracebacks,
                "rows": rows,
                "phases": [
                    {
                        k: v
                        for k, v in asdict(p).items()
                        if k not in ("calls", "readyz", "violations")
                    }
                    | {"violations": sorted(set(p.violations))}
                    for p in phases
                ],
            },
            indent=2,
        )
    )
    failed = [p.name for p in phases if p.violations]
    if tracebacks:
        failed.append(f"{tracebacks} traceback(s) in the server logs")
    if failed:
        print(f"faults: FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    print("faults: all passed")
    return 0
